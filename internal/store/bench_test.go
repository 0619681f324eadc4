package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// BenchmarkInsertClicks writes clicks in batches of 1000 (b.N clicks).
//
//	go test -run=^$ -bench=InsertClicks -benchmem ./internal/store
func BenchmarkInsertClicks(b *testing.B) {
	for _, e := range storetest.Engines() {
		b.Run(string(e), func(b *testing.B) {
			db := storetest.Open(b, e)
			ctx := context.Background()
			batch := make([]track.Click, 1000)
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += len(batch) {
				for j := range batch {
					c := &batch[j]
					*c = track.Click{ClickID: fmt.Sprintf("%020d%012d", i, j), CreatedAt: now, CampaignID: int64(j % 7), StreamID: 3,
						OfferID: 2, ExternalID: "ext-123456", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15",
						IP: "203.0.113.9", Country: "US", DeviceType: "mobile", OS: "iOS", Browser: "Safari", Query: "zone=123&cost=0.002&sub2=site.example"}
					c.SubIDs[0], c.SubIDs[1] = "123", "site.example"
				}
				if err := db.InsertClicks(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
