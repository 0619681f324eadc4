package postback_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// BenchmarkPostback sends durable postbacks (each a new conversion on its
// own click) over loopback HTTP from 64 concurrent clients; every answer
// comes after its commit.
//
//	go test -run=^$ -bench=Postback -benchtime=20000x ./internal/postback
func BenchmarkPostback(b *testing.B) {
	for _, engine := range storetest.Engines() {
		b.Run(string(engine), func(b *testing.B) {
			db := storetest.Open(b, engine)
			e := newEnv(b, db)
			ctx := context.Background()
			ids := make([]string, b.N)
			clicks := make([]track.Click, 0, 1000)
			now := time.Now()
			for i := range ids {
				ids[i] = e.ids.New(now).String()
				clicks = append(clicks, track.Click{ClickID: ids[i], CreatedAt: now, CampaignID: 1, OfferID: e.offers["a"]})
				if len(clicks) == cap(clicks) || i == len(ids)-1 {
					if err := db.InsertClicks(ctx, clicks); err != nil {
						b.Fatal(err)
					}
					clicks = clicks[:0]
				}
			}
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			client := &http.Client{Transport: tr}
			var next atomic.Int64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := ids[next.Add(1)-1]
					res, err := client.Get(e.URL + "/" + e.PostbackKey + "/postback?subid=" + id + "&status=sale&payout=1.5&tid=t")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "postbacks/s")
			n, _ := db.Conversions(ctx, store.ConversionQuery{Limit: 1})
			if len(n) == 0 {
				b.Fatal("no conversions recorded")
			}
		})
	}
}
