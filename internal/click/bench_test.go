package click_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// BenchmarkClick measures the click path in process (no network): a
// 4-stream campaign with filters, a traffic source with 7 parameters,
// enrichment, async recording into SQLite.
//
//	go test -run=^$ -bench=Click -benchmem ./internal/click
func BenchmarkClick(b *testing.B) {
	db := storetest.Open(b, store.SQLite)
	r := newRig(b, db, "async")
	ctx := context.Background()
	src := track.TrafficSource{Name: "Push", Params: []track.SourceParam{
		{Slot: "external_id", Param: "clickid"}, {Slot: "sub_id_1", Param: "zone"}, {Slot: "ad_campaign_id", Param: "campaign"},
		{Slot: "creative_id", Param: "banner"}, {Slot: "cost", Param: "cost"}, {Slot: "sub_id_2", Param: "sub2"}, {Slot: "source", Param: "utm_source"},
	}}
	src.Normalize()
	if err := db.CreateTrafficSource(ctx, &src); err != nil {
		b.Fatal(err)
	}
	var offers []int64
	for i := 0; i < 3; i++ {
		offers = append(offers, mustOffer(b, db, fmt.Sprint("O", i), "https://offer.example/?aff_sub={clickid}&s1={sub_id_1}&s2={sub_id_2}&cc={country}&os={os}"))
	}
	mustCampaign(b, db, track.Campaign{Alias: "camp", Name: "Bench", TrafficSourceID: &src.ID,
		Cost: track.Cost{Model: "cpc", Amount: 1000, FromParam: true},
		Streams: []track.Stream{
			{Type: "forced", Filters: []track.Filter{{Type: "bot"}}, Action: &track.Action{Type: "not_found"}},
			{Filters: []track.Filter{{Type: "country", Values: []string{"US", "GB", "DE", "CA", "AU"}}, {Type: "device_type", Values: []string{"mobile", "tablet"}}},
				Offers: []track.OfferShare{{OfferID: offers[0], Share: 70}, {OfferID: offers[1], Share: 30}}},
			{Filters: []track.Filter{{Type: "os", Values: []string{"Android"}}, {Type: "param", Name: "zone", Op: "regex", Values: []string{"^[0-9]{1,3}$"}}},
				Offers: []track.OfferShare{{OfferID: offers[1]}}},
			{Type: "default", Offers: []track.OfferShare{{OfferID: offers[2]}}},
		}})
	r.reload()
	uas := []string{iphoneUA, chromeUA,
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36"}
	ips := []string{"8.8.8.8", "193.99.144.80", "81.2.69.142", "1.1.1.1"}
	reqs := make([]*http.Request, 64)
	for i := range reqs {
		req := httptest.NewRequest("GET", fmt.Sprintf("/camp?clickid=%x&zone=%d&campaign=7&banner=3&cost=0.002&sub2=site-%d.example&utm_source=push", i*7919, i*37%2000, i), nil)
		req.SetPathValue("alias", "camp")
		req.RemoteAddr = ips[i%len(ips)] + ":4000"
		req.Header.Set("User-Agent", uas[i%len(uas)])
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Accept-Language", "en-US,en;q=0.9")
		reqs[i] = req
	}
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		r.h.ServeHTTP(w, reqs[i%len(reqs)])
	}
	b.StopTimer()
	if w.code != http.StatusFound {
		b.Fatalf("last answer %d", w.code)
	}
}

type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }
