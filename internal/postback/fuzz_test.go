package postback

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary queries, bodies and payouts to the parsers
// that face the network: they may refuse, never panic, and a payout they
// accept reads back the same.
func FuzzParse(f *testing.F) {
	f.Add("subid=abc&status=lead&payout=1,5", "application/json", `{"clickid":"x","payout":1.5,"n":null,"o":{"a":1}}`, "1,5")
	f.Add("a=%zz", "application/x-www-form-urlencoded", "status=%&payout=", "1e308")
	f.Add("sub_id_3=x&sub_id_03=y&sub_id_99=z", "text/plain", "", "-0")
	f.Add("", "application/json", "[1,2", "NaN")
	f.Fuzz(func(t *testing.T, query, ctype, body, payout string) {
		p, err := ParseParams(query, ctype, []byte(body))
		if err == nil {
			for _, c := range []string{"clickid", "status", "payout", "currency", "tid", "event"} {
				p.Canonical(c, map[string]string{c: "x"})
			}
			p.List("lead_status")
			for i := range p.SubIDs() {
				if i < 0 || i >= 30 {
					t.Fatalf("sub id index %d", i)
				}
			}
		}
		Unsubstituted(payout)
		m, err := ParsePayout(payout)
		if err != nil {
			return
		}
		back, err := ParsePayout(m.String())
		if err != nil || back != m {
			t.Fatalf("payout %q → %s → %v, %v", payout, m, back, err)
		}
		if strings.Count(payout, ",") > 1 {
			t.Fatalf("payout %q with several commas accepted", payout)
		}
	})
}
