package click

import (
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/macro"
	"github.com/trackd/trackd/internal/track"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		remote, xff, real, want string
	}{
		{"203.0.113.5:1234", "", "", "203.0.113.5"},
		{"203.0.113.5:1234", "1.2.3.4", "", "203.0.113.5"}, // untrusted peer: headers ignored
		{"10.0.0.2:1234", "1.2.3.4", "", "1.2.3.4"},
		{"10.0.0.2:1234", "6.6.6.6, 1.2.3.4, 10.0.0.9", "", "1.2.3.4"}, // rightmost untrusted wins: 6.6.6.6 is forgeable
		{"10.0.0.2:1234", "", "5.6.7.8", "5.6.7.8"},
		{"10.0.0.2:1234", "garbage", "5.6.7.8", "5.6.7.8"},
		{"10.0.0.2:1234", "10.0.0.3", "", "10.0.0.3"}, // all trusted: the leftmost
		{"[::1]:80", "2001:db8::7", "", "2001:db8::7"},
		{"[::ffff:10.0.0.2]:80", "::ffff:1.2.3.4", "", "1.2.3.4"},
		{"not-an-address", "", "", "invalid IP"},
	} {
		r := httptest.NewRequest("GET", "/x", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if tc.real != "" {
			r.Header.Set("X-Real-IP", tc.real)
		}
		if got := ClientIP(r, trusted).String(); got != tc.want {
			t.Errorf("ClientIP(%s, XFF %q, X-Real-IP %q) = %s, want %s", tc.remote, tc.xff, tc.real, got, tc.want)
		}
	}
}

// TestEveryClickMacro expands each click macro of the contract and checks
// that it yields the click's own field.
func TestEveryClickMacro(t *testing.T) {
	c := &track.Click{ClickID: "06h2admj1lsei1tl9iv2bb5jkp9pt8fa", CampaignID: 11, StreamID: 22, OfferID: 33, LandingID: 44,
		Source: "src", ExternalID: "ext", CreativeID: "cr", AdCampaignID: "acid", Keyword: "kw", OriginalCost: 1_500_000,
		Country: "US", Region: "CA", City: "San Jose", ISP: "Comcast", DeviceType: "mobile", OS: "iOS", OSVersion: "17.5",
		Browser: "Safari", BrowserVersion: "17.5", Language: "en", IP: "203.0.113.9", UserAgent: "UA/1.0", Referrer: "https://r.example/"}
	for i := range c.SubIDs {
		c.SubIDs[i] = "s" + string(rune('a'+i%26))
	}
	camp := &campaign{Campaign: track.Campaign{Name: "Camp"}, source: &source{TrafficSource: track.TrafficSource{Name: "Push"}}}
	v := &values{c: c, campaign: camp, query: "zone=7", offerURL: "https://trk.example/lp/click?clickid=x"}
	want := map[string]string{
		"clickid": c.ClickID, "subid": c.ClickID, "campaign_id": "11", "campaign_name": "Camp", "stream_id": "22",
		"offer_id": "33", "landing_id": "44", "source": "src", "traffic_source_name": "Push", "external_id": "ext",
		"creative_id": "cr", "ad_campaign_id": "acid", "keyword": "kw", "cost": "1.5", "country": "US", "region": "CA",
		"city": "San Jose", "isp": "Comcast", "device_type": "mobile", "os": "iOS", "os_version": "17.5", "browser": "Safari",
		"browser_version": "17.5", "language": "en", "ip": "203.0.113.9", "user_agent": "UA/1.0", "referrer": "https://r.example/",
		"offer": "https://trk.example/lp/click?clickid=x",
	}
	for i := range c.SubIDs {
		want["sub_id_"+itoa(i+1)] = c.SubIDs[i]
	}
	for _, name := range macro.Known(macro.Click) {
		if name == "random" {
			continue
		}
		w, ok := want[name]
		if !ok {
			t.Errorf("no expectation for click macro {%s}", name)
			continue
		}
		tmpl, err := macro.Parse("{_"+name+"}", macro.Click)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(tmpl.Expand(nil, v, time.Now())); got != w {
			t.Errorf("{_%s} = %q, want %q", name, got, w)
		}
	}
	for _, tc := range []struct{ tmpl, want string }{
		{"{param:zone}", "7"},
		{"{param:none}", ""},
		{"{date:2006-01-02,UTC}", "2026-11-28"},
		{"{city}", "San+Jose"},
	} {
		tmpl, err := macro.Parse(tc.tmpl, macro.Click)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(tmpl.Expand(nil, v, time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
	r, _ := macro.Parse("{random}", macro.Click)
	if a, b := string(r.Expand(nil, v, time.Now())), string(r.Expand(nil, v, time.Now())); a == b || strings.Trim(a, "0123456789") != "" {
		t.Errorf("{random} gave %q then %q", a, b)
	}
}

func itoa(n int) string {
	return strings.TrimLeft(string([]byte{byte('0' + n/10), byte('0' + n%10)}), "0")
}

func TestSeenSet(t *testing.T) {
	s := newSeenSet(1 << 12)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC).Unix()
	a, b := s.key(1, 'c', "visitor-a"), s.key(1, 'c', "visitor-b")
	if s.key(2, 'c', "visitor-a") == a || s.key(1, 's', "visitor-a") == a {
		t.Fatal("scope or kind does not change the key")
	}
	if !s.visit(a, now, 3600) {
		t.Error("first visit is not unique")
	}
	if s.visit(a, now+60, 3600) {
		t.Error("second visit within the window is unique")
	}
	if !s.visit(b, now+60, 3600) {
		t.Error("another visitor is not unique")
	}
	// Each visit restarts the window: 59 minutes after the last visit the
	// visitor is still known, 2 hours after it is new again.
	if s.visit(a, now+60+59*60, 3600) {
		t.Error("visit 59 minutes after the last one is unique")
	}
	if !s.visit(a, now+60+59*60+2*3600, 3600) {
		t.Error("visit after the window is not unique")
	}
	// A flood of new visitors never grows the table and leaves it usable.
	before := len(s.slots)
	for i := 0; i < 100_000; i++ {
		s.visit(s.key(1, 'c', strconv.Itoa(i)), now, 3600)
	}
	if len(s.slots) != before {
		t.Errorf("table grew from %d to %d slots", before, len(s.slots))
	}
	c := s.key(9, 'c', "fresh")
	if !s.visit(c, now, 3600) || s.visit(c, now+1, 3600) {
		t.Error("a full table no longer remembers a new visitor")
	}
	if n := testing.AllocsPerRun(100, func() { s.visit(c, now, 3600) }); n != 0 {
		t.Errorf("visit allocates %v times", n)
	}
}
