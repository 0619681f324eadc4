package click_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// FuzzClick sends arbitrary query strings and headers to a campaign link:
// the visitor is always answered (redirect, page or 404), never a 5xx, and
// the process never panics.
//
//	go test -run=^$ -fuzz=FuzzClick ./internal/click
func FuzzClick(f *testing.F) {
	f.Add("zone=1&cost=0.01&s=%ff", "Mozilla/5.0", "8.8.8.8", "en", "https://r.example/")
	f.Add("cost=1e308&cost=NaN&&&=", "", "garbage, 1.2.3.4", "*;q=x", "\x00")
	f.Add("s="+string(make([]byte, 3000)), "curl/8", "::ffff:1.2.3.4", "", "")
	db := storetest.Open(f, store.SQLite)
	r := newRig(f, db, "async")
	src := track.TrafficSource{Name: "S", Params: []track.SourceParam{{Slot: "sub_id_1", Param: "s"}, {Slot: "cost", Param: "cost"},
		{Slot: "external_id", Param: "zone"}}}
	src.Normalize()
	if err := db.CreateTrafficSource(f.Context(), &src); err != nil {
		f.Fatal(err)
	}
	o := mustOffer(f, db, "O", "https://o.example/?c={clickid}&s={sub_id_1}&r={_param:s}")
	mustCampaign(f, db, track.Campaign{Alias: "f", Name: "F", TrafficSourceID: &src.ID, Cost: track.Cost{FromParam: true},
		Streams: []track.Stream{
			{Filters: []track.Filter{{Type: "param", Name: "s", Op: "regex", Values: []string{"^a"}}}, Redirect: "js",
				Offers: []track.OfferShare{{OfferID: o}}},
			{Filters: []track.Filter{{Type: "referrer", Op: "contains", Values: []string{"x"}}}, Redirect: "meta",
				Offers: []track.OfferShare{{OfferID: o}}},
			{Type: "default", Offers: []track.OfferShare{{OfferID: o}}},
		}})
	r.reload()
	f.Fuzz(func(t *testing.T, query, ua, xff, lang, ref string) {
		req := httptest.NewRequest("GET", "/f", nil)
		req.URL.RawQuery = query
		req.SetPathValue("alias", "f")
		req.RemoteAddr = "127.0.0.1:1"
		req.Header["User-Agent"] = []string{ua}
		req.Header["X-Forwarded-For"] = []string{xff}
		req.Header["Accept-Language"] = []string{lang}
		req.Header["Referer"] = []string{ref}
		w := httptest.NewRecorder()
		r.h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusFound, http.StatusOK, http.StatusNotFound:
		default:
			t.Fatalf("query %q: status %d", query, w.Code)
		}
	})
}
