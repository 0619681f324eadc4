package store

import (
	"fmt"
	"testing"

	"github.com/trackd/trackd/internal/track"
)

// FuzzClickDetails: whatever text a visitor sends, the details JSON reads
// back as the cleaned text.
func FuzzClickDetails(f *testing.F) {
	f.Add("zone \"7\"", "Mozilla/5.0 \\ (x)\n", "a=1&b=\x00\xff", uint32(7922), int64(1500))
	f.Fuzz(func(t *testing.T, sub, ua, query string, asn uint32, cost int64) {
		c := track.Click{ClickID: "x", UserAgent: ua, Query: query, ASN: asn, OriginalCost: track.Money(cost), Region: "\u2028"}
		c.SubIDs[0], c.SubIDs[29] = sub, ua
		_, buf := clickValues(&c, nil, nil)
		var got track.Click
		if err := unmarshalDetails(buf, &got); err != nil {
			t.Fatalf("details %s do not parse: %v", buf, err)
		}
		want := track.Click{UserAgent: track.CleanText(ua), Query: track.CleanText(query), ASN: asn,
			OriginalCost: track.Money(cost), Region: "\u2028"}
		want.SubIDs[0], want.SubIDs[29] = track.CleanText(sub), track.CleanText(ua)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("details %s read back as\n%+v\nwant\n%+v", buf, got, want)
		}
	})
}
