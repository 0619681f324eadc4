package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// Clicks and landing clicks written while BackfillDims reads a day (on the
// day it rebuilds, on a day it has not reached, on a day it has done) are
// each counted once in the rebuilt rollup.
func TestBackfillCountsWritesWhileItReads(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Init(ctx, "admin", "admin password 123"); err != nil {
			t.Fatal(err)
		}
		ny, _ := time.LoadLocation("America/New_York")
		var (
			clicks  []track.Click
			landing = map[string]int64{} // NY day/country → landing clicks
			n       int
		)
		click := func(at time.Time, country string) track.Click {
			n++
			return track.Click{ClickID: fmt.Sprintf("%020d%012d", at.UnixMilli(), n), CreatedAt: at.UTC(), CampaignID: 1,
				StreamID: 2, OfferID: 3, TrafficSourceID: 4, Country: country, LandingID: 5}
		}
		write := func(cs ...track.Click) {
			t.Helper()
			if err := db.InsertClicks(ctx, cs); err != nil {
				t.Fatal(err)
			}
			clicks = append(clicks, cs...)
		}
		today := time.Now().In(ny)
		midnight := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, ny)
		for d := 1; d <= 4; d++ {
			for i := range 6 {
				write(click(midnight.AddDate(0, 0, -d).Add(time.Duration(3+3*i)*time.Hour), []string{"US", "DE"}[i%2]))
			}
		}
		st, err := db.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st.Timezone = "America/New_York"
		if err := db.SaveSettings(ctx, st); err != nil {
			t.Fatal(err)
		}
		// A day's sums go in several transactions.
		defer store.SetBackfillRowsPerTx(3)()
		opened := 0
		defer store.SetBackfillOpened(func(day time.Time) {
			if opened++; opened > 3 {
				return // else the day before keeps the backfill going
			}
			// On the day being rebuilt, the day before it and the day after.
			for _, at := range []time.Time{day.Add(13 * time.Hour), day.AddDate(0, 0, -1).Add(14 * time.Hour),
				day.AddDate(0, 0, 1).Add(15 * time.Hour)} {
				c := click(at, "FR")
				write(c)
				lc := track.LandingClick{ClickID: c.ClickID, CreatedAt: at.Add(time.Minute).UTC(), OfferID: 3}
				if err := db.InsertLandingClicks(ctx, []track.LandingClick{lc}); err != nil {
					t.Fatal(err)
				}
				landing[at.In(ny).Format("2006-01-02")+"/FR"]++
			}
		})()
		for steps := 0; ; steps++ {
			done, err := db.BackfillDims(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				break
			}
			if steps > 40 {
				t.Fatal("the backfill does not end")
			}
		}
		if opened < 4 {
			t.Fatalf("the backfill opened %d days, want at least the 4 with clicks", opened)
		}

		want := map[string]int64{}
		for _, c := range clicks {
			want[c.CreatedAt.In(ny).Format("2006-01-02")+"/"+c.Country]++
		}
		from := midnight.AddDate(0, 0, -8)
		q := store.StatsQuery{From: from, To: midnight.AddDate(0, 0, 2), Bucket: 24 * time.Hour,
			Dims: []string{"country"}}
		_, off := from.Zone()
		q.Offset = time.Duration(off) * time.Second
		if !db.DimsEligible(&q, ny) {
			t.Fatalf("the rollup is not complete after the backfill: %+v", db.Rollup())
		}
		rows, err := db.DimsRows(ctx, q, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, gotLanding := map[string]int64{}, map[string]int64{}
		for _, r := range rows {
			k := r.Bucket.In(ny).Format("2006-01-02") + "/" + r.Dims[0]
			if r.Clicks != 0 {
				got[k] += r.Clicks
			}
			if r.LPClicks != 0 {
				gotLanding[k] += r.LPClicks
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("clicks by New York day and country:\n got %v\nwant %v", got, want)
		}
		if fmt.Sprint(gotLanding) != fmt.Sprint(landing) {
			t.Errorf("landing clicks by New York day and country:\n got %v\nwant %v", gotLanding, landing)
		}
	})
}
