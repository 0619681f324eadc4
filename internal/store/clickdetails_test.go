package store

import (
	"encoding/json"
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
		var d detailsJSON
		if !d.decode(buf) {
			t.Fatalf("details %s not read without encoding/json", buf)
		}
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

// FuzzDetailsDecode: where the store's own decoder of details reads an
// input, encoding/json reads it too, to the same fields.
func FuzzDetailsDecode(f *testing.F) {
	c := track.Click{CreativeID: "c/1", AdCampaignID: "a\"b", Region: "\u2028", Query: "a=1&b=\u00e9\t",
		UserAgent: "Mozilla/5.0 \x01", ASN: 4294967295, OriginalCost: 1500, BotReason: "ua"}
	c.SubIDs[0], c.SubIDs[9], c.SubIDs[29] = "s1", "ü", "s30"
	f.Add(appendDetails(nil, &c))
	for _, s := range []string{`{}`, ` { } `, `{"city":null,"asn":null}`, `{"City":"x"}`, `{"sub_id_01":"x"}`,
		`{"asn":-1}`, `{"asn":-0}`, `{"asn":4294967296}`, `{"asn":1.5}`, `{"asn":01}`, `{"city":"\ud83d\ude00"}`,
		`{"city":"a\u0000b\/c"}`, `{"ci\u0074y":"x"}`, `{"city":"x","city":"y"}`, `{"city":"x"}x`, `{"city":"\xff"}`,
		`{"city":1}`, `{"asn":"1"}`, `{"asn":true}`, `{"query":"tab\tend"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast detailsJSON
		if !fast.decode(data) {
			return
		}
		var slow detailsJSON
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("%q: read by decode, refused by encoding/json: %v", data, err)
		}
		if fast != slow {
			t.Fatalf("%q:\ndecode      %+v\nencoding/json %+v", data, fast, slow)
		}
	})
}
