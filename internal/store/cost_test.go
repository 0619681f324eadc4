package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// A cost spread in several transactions: every click of the range gets an
// even share (the first ones by click id one micro-unit more), the sum is
// exact, the statistics move with it, other clicks keep theirs, and sending
// it again changes nothing.
func TestSpreadCostInChunks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		defer store.SetCostChunk(4)()
		base := time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour)
		var clicks []track.Click
		for i := range 23 {
			c := track.Click{ClickID: fmt.Sprintf("%020d%012d", base.UnixMilli()+int64(i), i), CreatedAt: base.Add(time.Duration(i) * 7 * time.Minute),
				CampaignID: int64(1 + i%3/2), StreamID: 2, OfferID: 3, TrafficSourceID: 4, Cost: 1000, Country: "US"}
			c.SubIDs[0] = []string{"a", "b"}[i%2]
			clicks = append(clicks, c)
		}
		if err := db.InsertClicks(ctx, clicks); err != nil {
			t.Fatal(err)
		}
		q := store.CostQuery{CampaignID: 1, From: base, To: base.Add(3 * time.Hour)}
		var in, out []track.Click
		for _, c := range clicks {
			if c.CampaignID == 1 && c.CreatedAt.Before(q.To) {
				in = append(in, c)
			} else {
				out = append(out, c)
			}
		}
		total := track.Money(1_000_007)
		for range 2 { // the second time changes nothing
			n, err := db.SpreadCost(ctx, q, total)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(in) {
				t.Fatalf("spread over %d clicks, want %d", n, len(in))
			}
			share, odd := int64(total)/int64(n), int(int64(total)%int64(n))
			ids := make([]string, 0, n)
			for _, c := range in {
				ids = append(ids, c.ClickID)
			}
			slices.Sort(ids)
			for i, id := range ids {
				got, err := db.Click(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				want := share
				if i < odd {
					want++
				}
				if int64(got.Cost) != want {
					t.Errorf("click %d of %d costs %d, want %d", i, n, got.Cost, want)
				}
			}
			for _, c := range out {
				if got, _ := db.Click(ctx, c.ClickID); got.Cost != 1000 {
					t.Errorf("click %s outside the range costs %d, want 1000", c.ClickID, got.Cost)
				}
			}
			// The hourly statistics and the raw facts say the same.
			for _, sq := range []store.StatsQuery{
				{From: base, To: base.Add(24 * time.Hour), Bucket: time.Hour, Dims: []string{"campaign_id"}},
				{From: base, To: base.Add(24 * time.Hour), Bucket: time.Hour, Dims: []string{"campaign_id", "sub_id_1"}},
			} {
				rows, err := db.StatsRows(ctx, sq)
				if err != nil {
					t.Fatal(err)
				}
				sums := map[string]int64{}
				for _, r := range rows {
					sums[r.Dims[0]] += r.Cost
				}
				want := map[string]int64{"1": int64(total) + 1000*int64(countIn(out, 1)), "2": 1000 * int64(countIn(out, 2))}
				if fmt.Sprint(sums) != fmt.Sprint(want) {
					t.Errorf("%v: costs by campaign %v, want %v", sq.Dims, sums, want)
				}
			}
		}
	})
}

func countIn(clicks []track.Click, campaign int64) int {
	n := 0
	for _, c := range clicks {
		if c.CampaignID == campaign {
			n++
		}
	}
	return n
}
