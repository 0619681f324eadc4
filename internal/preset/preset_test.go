package preset

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/trackd/trackd/internal/track"
)

var keyRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func TestSourcesValid(t *testing.T) {
	srcs := Sources()
	if len(srcs) < 7 {
		t.Fatalf("%d source presets, want at least 7", len(srcs))
	}
	for _, want := range []string{"propellerads", "exoclick", "trafficstars", "zeropark", "richads", "googleads", "facebook"} {
		if _, ok := SourceByKey(want); !ok {
			t.Errorf("no source preset %q", want)
		}
	}
	for _, p := range srcs {
		t.Run(p.Key, func(t *testing.T) {
			if p.Name == "" || p.Docs == "" {
				t.Errorf("name %q, docs %q: both are required", p.Name, p.Docs)
			}
			s := track.TrafficSource{Name: "x"}
			p.Apply(&s)
			s.Normalize()
			if err := s.Validate(); err != nil {
				t.Fatalf("applied preset is invalid: %v", err)
			}
			if s.Preset != p.Key || s.Name != "x" {
				t.Errorf("preset %q name %q, want %q and the client's name", s.Preset, s.Name, p.Key)
			}
			ext := slices.IndexFunc(p.Params, func(sp track.SourceParam) bool { return sp.Slot == "external_id" })
			if ext < 0 {
				t.Fatalf("no external_id param")
			}
			if p.Params[ext].Macro == "" && !strings.Contains(p.Notes, p.Params[ext].Param) {
				t.Errorf("external_id has no macro and the notes do not explain where %s comes from", p.Params[ext].Param)
			}
			for _, sp := range p.Params {
				if sp.Macro == "" && sp.Slot != "external_id" {
					t.Errorf("param %s has no macro", sp.Param)
				}
			}
			pb := p.Postback
			if pb.URL == "" {
				if p.Notes == "" {
					t.Errorf("no postback URL and no notes saying why")
				}
			} else {
				if !strings.Contains(pb.URL, "{external_id}") {
					t.Errorf("postback URL %q does not send {external_id} back", pb.URL)
				}
				if !slices.Equal(pb.Statuses, []track.Status{track.StatusLead, track.StatusSale}) {
					t.Errorf("postback statuses %v, want lead and sale", pb.Statuses)
				}
			}
			if pb.Method != "GET" || pb.PayoutSharePercent != 100 {
				t.Errorf("postback method %q share %d, want GET and 100", pb.Method, pb.PayoutSharePercent)
			}
		})
	}
}

func TestNetworksValid(t *testing.T) {
	nets := Networks()
	if len(nets) < 6 {
		t.Fatalf("%d network presets, want at least 6", len(nets))
	}
	for _, want := range []string{"everflow", "cake", "tune", "affise", "scaleo", "generic"} {
		if _, ok := NetworkByKey(want); !ok {
			t.Errorf("no network preset %q", want)
		}
	}
	for _, p := range nets {
		t.Run(p.Key, func(t *testing.T) {
			if p.Name == "" || p.Docs == "" {
				t.Errorf("name %q, docs %q: both are required", p.Name, p.Docs)
			}
			n := track.AffiliateNetwork{Name: "x"}
			p.Apply(&n)
			n.Normalize()
			if err := n.Validate(); err != nil {
				t.Fatalf("applied preset is invalid: %v", err)
			}
			if n.Preset != p.Key || n.Name != "x" {
				t.Errorf("preset %q name %q, want %q and the client's name", n.Preset, n.Name, p.Key)
			}
			if p.ClickIDParam == "" {
				t.Errorf("no clickid param")
			}
			if p.PostbackMacros["clickid"] == "" {
				t.Errorf("no clickid macro")
			}
			if p.PostbackParams == nil || p.PostbackMacros == nil || p.Statuses == nil {
				t.Errorf("nil map in preset; want empty maps for clean JSON")
			}
			for raw, st := range p.Statuses {
				if raw != strings.ToLower(raw) {
					t.Errorf("raw status %q is not lowercase", raw)
				}
				if !st.Valid() {
					t.Errorf("raw status %q maps to %q", raw, st)
				}
			}
		})
	}
	affise, _ := NetworkByKey("affise")
	for raw, want := range map[string]track.Status{"1": "sale", "2": "lead", "3": "rejected", "5": "lead"} {
		if got := affise.Statuses[raw]; got != want {
			t.Errorf("affise status %q = %q, want %q", raw, got, want)
		}
	}
}

func TestKeysAndOrder(t *testing.T) {
	seen := map[string]bool{}
	srcs := Sources()
	for i, p := range srcs {
		if !keyRE.MatchString(p.Key) {
			t.Errorf("source key %q is not lowercase", p.Key)
		}
		if seen[p.Key] {
			t.Errorf("source key %q twice", p.Key)
		}
		seen[p.Key] = true
		if i > 0 && strings.ToLower(srcs[i-1].Name) > strings.ToLower(p.Name) {
			t.Errorf("sources not sorted by name: %q before %q", srcs[i-1].Name, p.Name)
		}
	}
	seen = map[string]bool{}
	nets := Networks()
	for i, p := range nets {
		if !keyRE.MatchString(p.Key) {
			t.Errorf("network key %q is not lowercase", p.Key)
		}
		if seen[p.Key] {
			t.Errorf("network key %q twice", p.Key)
		}
		seen[p.Key] = true
		if i > 0 && strings.ToLower(nets[i-1].Name) > strings.ToLower(p.Name) {
			t.Errorf("networks not sorted by name: %q before %q", nets[i-1].Name, p.Name)
		}
	}
	if _, ok := SourceByKey("nope"); ok {
		t.Error("SourceByKey(nope) found a preset")
	}
	if _, ok := NetworkByKey("nope"); ok {
		t.Error("NetworkByKey(nope) found a preset")
	}
	if _, ok := SourceByKey("PropellerAds"); ok {
		t.Error("SourceByKey is case-insensitive; keys are exact")
	}
}

func TestSourceApplyKeepsClientFields(t *testing.T) {
	p, _ := SourceByKey("propellerads")
	own := []track.SourceParam{{Slot: "external_id", Param: "cid", Macro: "{id}"}}
	s := track.TrafficSource{
		Name:   "Mine",
		Params: slices.Clone(own),
		Postback: track.SourcePostback{
			URL:                "https://src.example/pb?c={external_id}",
			Method:             "POST",
			Statuses:           []track.Status{track.StatusSale},
			PayoutSharePercent: 80,
		},
		Notes: "my notes",
	}
	want := s
	want.Params = slices.Clone(own)
	want.Postback.Statuses = []track.Status{track.StatusSale}
	want.Preset = "propellerads"
	p.Apply(&s)
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Apply changed client fields:\n got %+v\nwant %+v", s, want)
	}

	// A present but empty list stays empty; missing fields are filled.
	s = track.TrafficSource{Name: "Mine", Params: []track.SourceParam{}}
	p.Apply(&s)
	if len(s.Params) != 0 {
		t.Errorf("Apply filled params the client sent as an empty list: %v", s.Params)
	}
	if s.Postback.URL != p.Postback.URL || s.Notes != p.Notes {
		t.Errorf("Apply did not fill the postback URL and notes: %+v", s)
	}

	// No name: the preset's name.
	s = track.TrafficSource{}
	p.Apply(&s)
	if s.Name != p.Name {
		t.Errorf("name %q, want the preset's %q", s.Name, p.Name)
	}
}

func TestNetworkApplyKeepsClientFields(t *testing.T) {
	p, _ := NetworkByKey("everflow")
	n := track.AffiliateNetwork{
		Name:           "Mine",
		ClickIDParam:   "sub3",
		PostbackParams: map[string]string{"clickid": "cid"},
		PostbackMacros: map[string]string{"clickid": "{sub3}"},
		Statuses:       map[string]track.Status{"ok": track.StatusSale},
		Notes:          "my notes",
	}
	p.Apply(&n)
	want := track.AffiliateNetwork{
		Name:           "Mine",
		Preset:         "everflow",
		ClickIDParam:   "sub3",
		PostbackParams: map[string]string{"clickid": "cid"},
		PostbackMacros: map[string]string{"clickid": "{sub3}"},
		Statuses:       map[string]track.Status{"ok": track.StatusSale},
		Notes:          "my notes",
	}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("Apply changed client fields:\n got %+v\nwant %+v", n, want)
	}

	n = track.AffiliateNetwork{Name: "Mine", Statuses: map[string]track.Status{}}
	p.Apply(&n)
	if len(n.Statuses) != 0 {
		t.Errorf("Apply filled statuses the client sent as an empty map: %v", n.Statuses)
	}
	if n.ClickIDParam != "sub1" || n.PostbackMacros["clickid"] != "{sub1}" {
		t.Errorf("Apply did not fill the click id param and macros: %+v", n)
	}
}

func TestCopies(t *testing.T) {
	a := Sources()
	a[0].Key = "changed"
	a[0].Params[0].Param = "changed"
	a[0].Postback.Statuses[0] = track.StatusRejected
	for i := range a {
		a[i].Params = append(a[i].Params[:0], track.SourceParam{Slot: "cost", Param: "x"})
	}
	if !reflect.DeepEqual(Sources(), sourcesSorted()) {
		t.Error("mutating Sources() changed the next call")
	}
	b := Sources()
	if b[0].Key == "changed" || b[0].Params[0].Param == "changed" || b[0].Postback.Statuses[0] == track.StatusRejected {
		t.Error("mutating Sources() changed the next call")
	}

	s, _ := SourceByKey("exoclick")
	s.Params[0].Macro = "changed"
	if s2, _ := SourceByKey("exoclick"); s2.Params[0].Macro == "changed" {
		t.Error("SourceByKey returned shared params")
	}

	n := Networks()
	for i := range n {
		n[i].PostbackMacros["clickid"] = "changed"
		n[i].Statuses["approved"] = track.StatusRejected
		n[i].PostbackParams["clickid"] = "changed"
	}
	for _, m := range Networks() {
		if m.PostbackMacros["clickid"] == "changed" || m.Statuses["approved"] == track.StatusRejected ||
			m.PostbackParams["clickid"] == "changed" {
			t.Fatalf("mutating Networks() changed the next call (%s)", m.Key)
		}
	}

	// What Apply puts into an object is not shared with the next preset.
	p, _ := NetworkByKey("affise")
	var net track.AffiliateNetwork
	p.Apply(&net)
	net.Statuses["1"] = track.StatusRejected
	net.PostbackMacros["clickid"] = "changed"
	if p.Statuses["1"] != track.StatusSale || p.PostbackMacros["clickid"] != "{sub1}" {
		t.Error("Apply shares maps with the preset")
	}
	sp, _ := SourceByKey("zeropark")
	var src track.TrafficSource
	sp.Apply(&src)
	src.Params[0].Param = "changed"
	src.Postback.Statuses[0] = track.StatusRebill
	if sp.Params[0].Param == "changed" || sp.Postback.Statuses[0] == track.StatusRebill {
		t.Error("Apply shares slices with the preset")
	}
}

// sourcesSorted is Sources built independently, for comparison.
func sourcesSorted() []Source {
	s := sourceTable()
	slices.SortFunc(s, func(a, b Source) int { return compareNames(a.Name, a.Key, b.Name, b.Key) })
	return s
}
