package click_test

import (
	"context"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

func TestStreamOrderAndRotation(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	r := newRig(t, db, "async")
	a := mustOffer(t, db, "A", "https://a.example/?c={clickid}")
	b := mustOffer(t, db, "B", "https://b.example/?c={clickid}")
	d := mustOffer(t, db, "D", "https://d.example/?c={clickid}")
	bots := mustOffer(t, db, "Bots", "https://bots.example/?c={clickid}")
	mustCampaign(t, db, track.Campaign{Alias: "pos", Name: "Position", Streams: []track.Stream{
		{Name: "default first in the list", Type: "default", Offers: []track.OfferShare{{OfferID: d}}},
		{Name: "us", Filters: []track.Filter{{Type: "country", Values: []string{"US"}}}, Offers: []track.OfferShare{{OfferID: a}}},
		{Name: "mobile", Filters: []track.Filter{{Type: "device_type", Values: []string{"mobile"}}}, Offers: []track.OfferShare{{OfferID: b}}},
		{Name: "bots", Type: "forced", Filters: []track.Filter{{Type: "bot"}}, Offers: []track.OfferShare{{OfferID: bots}}},
	}})
	mustCampaign(t, db, track.Campaign{Alias: "w", Name: "Weight", Rotation: "weight", Streams: []track.Stream{
		{Weight: 75, Offers: []track.OfferShare{{OfferID: a}}},
		{Weight: 25, Offers: []track.OfferShare{{OfferID: b}}},
		{Weight: 1000, Filters: []track.Filter{{Type: "country", Values: []string{"ZZ"}}}, Offers: []track.OfferShare{{OfferID: d}}},
	}})
	mustCampaign(t, db, track.Campaign{Alias: "split", Name: "Split", Streams: []track.Stream{
		{Offers: []track.OfferShare{{OfferID: a, Share: 20}, {OfferID: b, Share: 80}}},
	}})
	r.reload()

	for _, tc := range []struct {
		name string
		v    visitor
		want string
	}{
		{"forced beats all", visitor{ip: "8.8.8.8", ua: "curl/8.5.0"}, "bots.example"},
		{"first regular by position", visitor{ip: "8.8.8.8", ua: iphoneUA}, "a.example"},
		{"second regular", visitor{ip: "193.99.144.80", ua: iphoneUA}, "b.example"},
		{"default", visitor{ip: "193.99.144.80", ua: chromeUA}, "d.example"},
	} {
		v := tc.v
		if got := r.visit(&v, "/pos"); !strings.Contains(got.location, tc.want) {
			t.Errorf("%s: went to %q, want %s", tc.name, got.location, tc.want)
		}
	}

	// Weighted streams and weighted offers: 2000 visits each, shares within
	// a wide margin (the chance of a false failure is below 1e-9).
	count := func(alias string) map[string]int {
		n := map[string]int{}
		for i := 0; i < 2000; i++ {
			v := visitor{ip: "8.8.8.8", ua: chromeUA}
			host := strings.Split(strings.TrimPrefix(r.visit(&v, "/"+alias).location, "https://"), "/")[0]
			n[host]++
		}
		return n
	}
	if n := count("w"); n["a.example"] < 1300 || n["a.example"] > 1700 || n["d.example"] != 0 {
		t.Errorf("weights 75/25 gave %v", n)
	}
	if n := count("split"); n["b.example"] < 1400 || n["b.example"] > 1800 {
		t.Errorf("offer shares 20/80 gave %v", n)
	}
}

func TestActions(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, "sync")
		ctx := context.Background()
		o := mustOffer(t, db, "O", "https://offer.example/?c={clickid}&s={sub_id_1}&q={param:q}")
		lp := track.Landing{Name: "LP", URL: "https://lp.example/pre?next={offer}&id={clickid}"}
		lp.Normalize()
		if err := db.CreateLanding(ctx, &lp); err != nil {
			t.Fatal(err)
		}
		o2 := mustOffer(t, db, "O2", "https://offer2.example/?c={clickid}")
		one := func(alias string, st track.Stream) {
			st.Type = "default"
			mustCampaign(t, db, track.Campaign{Alias: alias, Name: alias, Streams: []track.Stream{st}})
		}
		one("meta", track.Stream{Redirect: "meta", Offers: []track.OfferShare{{OfferID: o}}})
		one("js", track.Stream{Redirect: "js", Offers: []track.OfferShare{{OfferID: o}}})
		one("landing", track.Stream{Landings: []track.LandingShare{{LandingID: lp.ID}}, Offers: []track.OfferShare{{OfferID: o}, {OfferID: o2, Share: 1}}})
		r.reload()
		v := &visitor{ip: "8.8.8.8", ua: chromeUA}

		// XSS attempt in a parameter that lands in the page.
		evil := `"><script>alert(1)</script>`
		a := r.visit(v, "/meta?q="+strings.ReplaceAll(evil, " ", "%20"))
		if a.status != 200 || strings.Contains(a.body, "<script>alert") || !strings.Contains(a.body, `http-equiv="refresh"`) {
			t.Errorf("meta: %d %s", a.status, a.body)
		}
		a = r.visit(v, "/js?q=%3C/script%3E%3Cscript%3Ealert(1)%3C/script%3E")
		if a.status != 200 || strings.Contains(a.body, "<script>alert") || !strings.Contains(a.body, "location.replace(") {
			t.Errorf("js: %d %s", a.status, a.body)
		}
		if !strings.Contains(html.UnescapeString(a.body), "offer.example") {
			t.Errorf("js page does not lead to the offer: %s", a.body)
		}

		// Landing, then /lp/click to the offer (the offer=N choice wins).
		a = r.visit(v, "/landing?q=1")
		if a.status != 302 || !strings.HasPrefix(a.location, "https://lp.example/pre?next=") {
			t.Fatalf("lp: %d %q", a.status, a.location)
		}
		ck := r.clickOf(a.location, "id")
		if ck.LandingID != lp.ID {
			t.Errorf("click landing = %d, want %d", ck.LandingID, lp.ID)
		}
		u := strings.TrimPrefix(a.location, "https://lp.example/pre?next=")
		u = u[:strings.Index(u, "&id=")]
		next, _ := urlUnescape(u)
		next = strings.TrimPrefix(next, r.srv.URL)
		b := r.visit(v, next+"&offer="+itoa(o2))
		if b.status != 302 || !strings.HasPrefix(b.location, "https://offer2.example/?c="+ck.ClickID) {
			t.Errorf("lp click: %d %q, want offer2 with the same click id %s", b.status, b.location, ck.ClickID)
		}
		// From the cookie, without the parameter.
		b = r.visit(v, "/lp/click")
		if b.status != 302 || !strings.Contains(b.location, ck.ClickID) {
			t.Errorf("lp click from cookie: %d %q", b.status, b.location)
		}
		// A forged click id is refused.
		forged := ck.ClickID[:31] + string("0123456789abcdefghijklmnopqrstuv"[(strings.IndexByte("0123456789abcdefghijklmnopqrstuv", ck.ClickID[31])+1)%32])
		if b := r.visit(&visitor{ua: chromeUA}, "/lp/click?clickid="+forged); b.status != 404 {
			t.Errorf("forged lp click: %d %q", b.status, b.location)
		}
		r.flush()
		lcs, err := db.LandingClicks(ctx, ck.ClickID)
		if err != nil || len(lcs) != 2 || lcs[0].OfferID != o2 {
			t.Errorf("landing clicks = %+v, %v", lcs, err)
		}
		// Both count in the hourly statistics of their click's row.
		rows, err := db.StatsRows(ctx, store.StatsQuery{From: ck.CreatedAt.Add(-time.Hour), To: ck.CreatedAt.Add(time.Hour),
			Bucket: time.Hour, Dims: []string{"landing_id"}, Where: map[string][]int64{"campaign_id": {ck.CampaignID}}})
		lps := int64(0)
		for _, row := range rows {
			if row.Dims[0] == itoa(ck.LandingID) {
				lps += row.LPClicks
			}
		}
		if err != nil || lps != 2 {
			t.Errorf("landing clicks in the statistics: %d, %v; want 2", lps, err)
		}
	})
}

func TestActionsWithoutRedirect(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	r := newRig(t, db, "sync")
	o2 := mustOffer(t, db, "O2", "https://offer2.example/?c={clickid}")
	target := mustCampaign(t, db, track.Campaign{Alias: "target", Name: "Target",
		Streams: []track.Stream{{Type: "default", Offers: []track.OfferShare{{OfferID: o2}}}}})
	for alias, a := range map[string]*track.Action{
		"text": {Type: "text", Content: "hello <b>"},
		"html": {Type: "html", Content: "<h1>hi</h1>"},
		"nf":   {Type: "not_found"},
		"url":  {Type: "url", URL: "https://elsewhere.example/?k={param:k}"},
		"hop":  {Type: "campaign", CampaignID: target.ID},
	} {
		mustCampaign(t, db, track.Campaign{Alias: alias, Name: alias, Streams: []track.Stream{{Type: "default", Action: a}}})
	}
	mustCampaign(t, db, track.Campaign{Alias: "paused", Name: "P", Paused: true,
		Streams: []track.Stream{{Type: "default", Offers: []track.OfferShare{{OfferID: o2}}}}})
	r.reload()
	v := &visitor{ip: "8.8.8.8", ua: chromeUA}
	check := func(path string, status int, ctype, body, location string) {
		t.Helper()
		a := r.visit(v, path)
		if a.status != status || !strings.HasPrefix(a.header.Get("Content-Type"), ctype) ||
			!strings.Contains(a.body, body) || !strings.HasPrefix(a.location, location) {
			t.Errorf("%s: %d %q %q %q; want %d %q %q %q", path, a.status, a.header.Get("Content-Type"), a.body, a.location,
				status, ctype, body, location)
		}
	}
	check("/text", 200, "text/plain", "hello <b>", "")
	check("/html", 200, "text/html", "<h1>hi</h1>", "")
	check("/nf", 404, "text/plain", "not found", "")
	check("/url?k=a%20b", 302, "", "", "https://elsewhere.example/?k=a+b")
	check("/hop", 302, "", "", "https://offer2.example/?c=")
	check("/paused", 404, "text/plain", "not found", "")
	check("/no-such-campaign", 404, "text/plain", "not found", "")

	// The hop is recorded on the campaign it ends in.
	a := r.visit(v, "/hop")
	if ck := r.clickOf(a.location, "c"); ck.CampaignID != target.ID {
		t.Errorf("hop click campaign = %d, want %d", ck.CampaignID, target.ID)
	}

	// With a fallback URL, unknown campaigns go there.
	ctx := context.Background()
	s, _ := db.Settings(ctx)
	s.FallbackURL = "https://fallback.example/"
	if err := db.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	r.reload()
	check("/nope", 302, "", "", "https://fallback.example/")
	check("/paused", 302, "", "", "https://fallback.example/")
}

func TestBadInputStillRedirects(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	r := newRig(t, db, "sync")
	ctx := context.Background()
	src := track.TrafficSource{Name: "S", Params: []track.SourceParam{{Slot: "sub_id_1", Param: "s1"}, {Slot: "cost", Param: "cost"}}}
	src.Normalize()
	if err := db.CreateTrafficSource(ctx, &src); err != nil {
		t.Fatal(err)
	}
	o := mustOffer(t, db, "O", "https://offer.example/?c={clickid}&s1={sub_id_1}")
	mustCampaign(t, db, track.Campaign{Alias: "c", Name: "C", TrafficSourceID: &src.ID, Cost: track.Cost{FromParam: true},
		Streams: []track.Stream{{Type: "default", Offers: []track.OfferShare{{OfferID: o}}}}})
	r.reload()
	for _, q := range []string{
		"s1=%ff%fe%00zz",                    // invalid UTF-8 and NUL
		"s1=" + strings.Repeat("x", 5000),   // oversized value
		strings.Repeat("a=b&", 4000),        // oversized query
		"s1=%zz%&&&==&cost=1e308",           // malformed escapes, absurd cost
		"cost=NaN&s1=a%26b%3Dc%23d%3Fe%2Ff", // characters that could break the URL
		"cost=-5",
	} {
		v := &visitor{ip: "8.8.8.8", ua: strings.Repeat("A", 10000)}
		a := r.visit(v, "/c?"+q)
		if a.status != http.StatusFound || !strings.HasPrefix(a.location, "https://offer.example/?c=") {
			t.Errorf("query %.40q: %d %q, want a redirect to the offer", q, a.status, a.location)
			continue
		}
		// The value stays inside its parameter.
		if strings.Count(a.location, "&") != 1 || strings.Contains(a.location, "#") {
			t.Errorf("query %.40q: a value broke out of its parameter: %s", q, a.location)
		}
		ck := r.clickOf(a.location, "c")
		if len(ck.SubIDs[0]) > 256 || len(ck.UserAgent) > 512 || len(ck.Query) > track.MaxQueryBytes || ck.Cost != 0 {
			t.Errorf("query %.40q: stored %d-byte sub id, %d-byte UA, %d-byte query, cost %v", q, len(ck.SubIDs[0]),
				len(ck.UserAgent), len(ck.Query), ck.Cost)
		}
		if strings.ContainsRune(ck.SubIDs[0], 0) {
			t.Errorf("NUL stored in sub id")
		}
	}
}

func TestVisitorBinding(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	r := newRig(t, db, "async")
	a := mustOffer(t, db, "A", "https://a.example/?c={clickid}")
	b := mustOffer(t, db, "B", "https://b.example/?c={clickid}")
	mustCampaign(t, db, track.Campaign{Alias: "bound", Name: "Bound", VisitorBinding: true, Streams: []track.Stream{
		{Type: "default", Offers: []track.OfferShare{{OfferID: a}, {OfferID: b}}}}})
	mustCampaign(t, db, track.Campaign{Alias: "free", Name: "Free", Streams: []track.Stream{
		{Type: "default", Offers: []track.OfferShare{{OfferID: a}, {OfferID: b}}}}})
	r.reload()
	hosts := func(alias string, v *visitor) map[string]bool {
		seen := map[string]bool{}
		for i := 0; i < 40; i++ {
			seen[strings.Split(r.visit(v, "/"+alias).location, "/?")[0]] = true
		}
		return seen
	}
	if h := hosts("bound", &visitor{ip: "8.8.8.8", ua: chromeUA}); len(h) != 1 {
		t.Errorf("a bound visitor went to %v, want one offer", h)
	}
	// Without binding the same visitor sees both (chance of a false
	// failure: 2 in 2^40).
	if h := hosts("free", &visitor{ip: "8.8.8.8", ua: chromeUA}); len(h) != 2 {
		t.Errorf("an unbound visitor went to %v, want both offers", h)
	}
}
