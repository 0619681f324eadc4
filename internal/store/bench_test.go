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

var (
	countries = []string{"US", "DE", "GB", "FR", "IN", "BR", "ID", "MX", "TR", "VN", "TH", "PH", "CA"}
	devices   = []string{"mobile", "desktop", "tablet"}
	systems   = []string{"Android", "iOS", "Windows", "macOS"}
	browsers  = []string{"Chrome", "Safari", "Samsung Internet", "Firefox", "Edge"}
	languages = []string{"en", "de", "fr", "pt", "id", "es"}
)

// BenchmarkInsertClicks writes clicks in batches of 1000 (what the writer
// commits under load in async mode) and of 16 (in sync mode, where each
// commit waits for the clicks its requests hold): b.N clicks.
//
//	go test -run=^$ -bench=InsertClicks -benchmem ./internal/store
func BenchmarkInsertClicks(b *testing.B) {
	for _, e := range storetest.Engines() {
		for _, size := range []int{1000, 16} {
			b.Run(fmt.Sprintf("%s/batch=%d", e, size), func(b *testing.B) {
				db := storetest.Open(b, e)
				ctx := context.Background()
				batch := make([]track.Click, size)
				now := time.Now()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i += len(batch) {
					for j := range batch {
						c := &batch[j]
						*c = track.Click{ClickID: fmt.Sprintf("%020d%012d", i, j), CreatedAt: now, CampaignID: int64(j % 7), StreamID: 3,
							OfferID: 2, ExternalID: "ext-123456", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15",
							IP: "203.0.113.9", Query: "zone=123&cost=0.002&sub2=site.example",
							// Varied values, as a campaign's traffic has them: each is
							// a row of the daily rollup by value.
							Country: countries[(i/size+j)%len(countries)], DeviceType: devices[j%3], OS: systems[j%4],
							Browser: browsers[j%5], Language: languages[j%6]}
						c.SubIDs[0], c.SubIDs[1] = "123", "site.example"
					}
					if err := db.InsertClicks(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkClicksByID reads one click back in a write transaction, as a
// postback does, out of 200,000 written by 7 campaigns.
//
//	go test -run=^$ -bench=ClicksByID -benchmem ./internal/store
func BenchmarkClicksByID(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			db := storetest.Open(b, e)
			ctx := context.Background()
			const n = 200_000
			now := time.Now()
			var ids []string
			for i := 0; i < n; i += 1000 {
				batch := make([]track.Click, 1000)
				for j := range batch {
					c := &batch[j]
					*c = track.Click{ClickID: fmt.Sprintf("%020d%012d", i, j), CreatedAt: now.Add(time.Duration(i+j) * time.Millisecond),
						CampaignID: int64(j % 7), StreamID: 3, OfferID: 2, ExternalID: "ext-123456",
						UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
						IP:        "203.0.113.9", Query: "clickid=123456&zone=123&cost=0.002&sub2=site.example&utm_source=push",
						Country: countries[(i/1000+j)%len(countries)], DeviceType: devices[j%3], OS: systems[j%4],
						Browser: browsers[j%5], Language: languages[j%6]}
					c.SubIDs[0], c.SubIDs[1] = "123", "site.example"
					ids = append(ids, c.ClickID)
				}
				if err := db.InsertClicks(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id := ids[(i*7919)%n]
				err := db.Update(ctx, func(tx *store.Tx) error {
					got, err := tx.ClicksByID(ctx, []string{id})
					if err == nil && got[id].ClickID != id {
						err = fmt.Errorf("click %s not found", id)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
