package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

func TestClicksRoundTrip(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		base := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
		var batch []track.Click
		for i := 0; i < 250; i++ {
			c := track.Click{
				ClickID: fmt.Sprintf("%032d", i), CreatedAt: base.Add(time.Duration(i) * time.Second),
				CampaignID: int64(1 + i%2), StreamID: 3, OfferID: 4, TrafficSourceID: 5,
				ExternalID: fmt.Sprintf("ext-%d", i), Cost: 1500, OriginalCost: 1400, CostCurrency: "EUR",
				Query: "a=1&b=ü", IP: "2001:db8::1", UserAgent: "Mozilla/5.0", Country: "DE", ASN: 4294967295,
				DeviceType: "mobile", IsBot: i%10 == 0, BotReason: "x", UniqueCampaign: true,
				// Every other field, so that each engine's layout is read back whole.
				LandingID: 6, CreativeID: "cr-1", AdCampaignID: "ac \"2\"", Source: "push", Referrer: "https://r.example/?q=1",
				Language: "de", Region: "BE", City: "Berlin", ISP: "Telekom", ConnectionType: "cellular", OS: "Android",
				OSVersion: "14", Browser: "Chrome", BrowserVersion: "131.0", UniqueStream: i%3 == 0, UniqueGlobal: i%4 == 0,
			}
			c.SubIDs[0], c.SubIDs[29] = "first", "last \x00 byte"
			c.Keyword = "bad \xff utf-8"
			batch = append(batch, c)
		}
		if err := db.InsertClicks(ctx, batch); err != nil {
			t.Fatal(err)
		}
		got, err := db.Click(ctx, batch[7].ClickID)
		if err != nil {
			t.Fatal(err)
		}
		want := batch[7]
		want.SubIDs[29] = "last  byte" // NUL dropped on both engines
		want.Keyword = "bad \uFFFD utf-8"
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("click read back differs:\n got %+v\nwant %+v", got, batch[7])
		}
		if _, err := db.Click(ctx, "nope"); !errors.Is(err, track.ErrNotFound) {
			t.Errorf("missing click: %v", err)
		}
		page, err := db.Clicks(ctx, store.ClickQuery{CampaignID: 2, Limit: 10, From: base.Add(100 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) != 10 || page[0].ClickID != batch[249].ClickID || page[0].CampaignID != 2 {
			t.Fatalf("first page = %d clicks starting %s", len(page), page[0].ClickID)
		}
		next, _ := db.Clicks(ctx, store.ClickQuery{CampaignID: 2, Limit: 1000, Before: page[9].ClickID, From: base.Add(100 * time.Second)})
		if len(next) != 75-10 || next[0].ClickID != batch[229].ClickID || next[64].ClickID != batch[101].ClickID {
			t.Errorf("rest = %d clicks, want 65 from %s", len(next), batch[229].ClickID)
		}
		// Every campaign, by time, external id and page.
		for _, c := range []struct {
			q    store.ClickQuery
			want []int // indexes into batch, newest first
		}{
			{store.ClickQuery{From: base.Add(10 * time.Second), To: base.Add(13 * time.Second)}, []int{12, 11, 10}},
			{store.ClickQuery{To: base.Add(2 * time.Second)}, []int{1, 0}},
			{store.ClickQuery{Before: batch[3].ClickID}, []int{2, 1, 0}},
			{store.ClickQuery{ExternalID: "ext-42"}, []int{42}},
			{store.ClickQuery{CampaignID: 1, ExternalID: "ext-42"}, []int{42}},
			{store.ClickQuery{CampaignID: 2, ExternalID: "ext-42"}, nil},
			{store.ClickQuery{CampaignID: 1, To: base.Add(5 * time.Second), Limit: 2}, []int{4, 2}},
			{store.ClickQuery{CampaignID: 1, Before: batch[4].ClickID}, []int{2, 0}},
			{store.ClickQuery{CampaignID: 1, Before: "0"}, nil}, // not a click: the ids below it
			{store.ClickQuery{CampaignID: 1, Before: batch[4].ClickID + "x", Limit: 3}, []int{4, 2, 0}},
		} {
			got, err := db.Clicks(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			var ids, want []string
			for _, g := range got {
				ids = append(ids, g.ClickID)
			}
			for _, i := range c.want {
				want = append(want, batch[i].ClickID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Errorf("Clicks(%+v) = %v, want %v", c.q, ids, want)
			}
		}
		// A duplicate click id fails the whole batch: nothing half-written.
		dup := []track.Click{{ClickID: "fresh", CreatedAt: base}, batch[0]}
		if err := db.InsertClicks(ctx, dup); err == nil {
			t.Fatal("duplicate click id accepted")
		}
		if _, err := db.Click(ctx, "fresh"); !errors.Is(err, track.ErrNotFound) {
			t.Errorf("half a failed batch was written: %v", err)
		}
		if err := db.InsertLandingClicks(ctx, []track.LandingClick{{ClickID: batch[1].ClickID, CreatedAt: base, OfferID: 9}}); err != nil {
			t.Fatal(err)
		}
		lcs, err := db.LandingClicks(ctx, batch[1].ClickID)
		if err != nil || len(lcs) != 1 || lcs[0].OfferID != 9 {
			t.Errorf("landing clicks = %+v, %v", lcs, err)
		}
	})
}
