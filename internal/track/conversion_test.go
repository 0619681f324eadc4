package track

import (
	"testing"
	"time"
)

// FuzzDecide drives one click through a sequence of postbacks (each byte:
// status, tid, payout) and checks the rules hold after every step.
func FuzzDecide(f *testing.F) {
	f.Add([]byte{0, 1, 2}, true, false)
	f.Add([]byte{1, 1, 0x13, 0x23, 2}, false, true)
	f.Add([]byte{3, 0x10, 0x21, 0x31, 0x12}, true, true)
	f.Fuzz(func(t *testing.T, steps []byte, upsells, updatePayout bool) {
		var convs []Conversion
		now := time.Unix(1_700_000_000, 0)
		rules := ConversionRules{UpsellsAllowed: upsells, UpdatePayout: updatePayout}
		for i, b := range steps {
			in := ConversionInput{Status: Statuses[b%4], HasPayout: b&0x40 != 0, Payout: Money(b>>6) * MoneyScale}
			if tid := (b >> 4) & 3; tid != 0 {
				in.TID = string(rune('a' + tid))
			}
			d := Decide(convs, in, rules, Conversion{ClickID: "c"}, now)
			switch d.Outcome {
			case OutcomeCreated:
				if d.Index != -1 {
					t.Fatalf("step %d: created with index %d", i, d.Index)
				}
				if d.Conversion.Upsell && !upsells {
					t.Fatalf("step %d: upsell on an offer without upsells", i)
				}
				d.Conversion.ID = int64(len(convs) + 1)
				convs = append(convs, d.Conversion)
			case OutcomeUpdated:
				old := convs[d.Index]
				if old.Status != d.Conversion.Status && !TransitionAllowed(old.Status, d.Conversion.Status) {
					t.Fatalf("step %d: %s → %s", i, old.Status, d.Conversion.Status)
				}
				if old.Status == d.Conversion.Status && !updatePayout {
					t.Fatalf("step %d: same status updated without update_payout", i)
				}
				convs[d.Index] = d.Conversion
			case OutcomeDuplicate, OutcomeRefused:
			default:
				t.Fatalf("step %d: outcome %q", i, d.Outcome)
			}
			seen := map[string]bool{}
			for _, c := range convs {
				if seen[c.TID] {
					t.Fatalf("step %d: two conversions with tid %q: %+v", i, c.TID, convs)
				}
				seen[c.TID] = true
			}
			if len(convs) > 1 && !upsells {
				t.Fatalf("step %d: %d conversions on a click without upsells", i, len(convs))
			}
		}
	})
}

func TestTransitions(t *testing.T) {
	for _, c := range []struct {
		from, to Status
		ok       bool
	}{
		{StatusLead, StatusSale, true}, {StatusLead, StatusRejected, true}, {StatusSale, StatusRejected, true},
		{StatusRebill, StatusRejected, true}, {StatusSale, StatusLead, false}, {StatusRejected, StatusSale, false},
		{StatusRejected, StatusLead, false}, {StatusSale, StatusRebill, false},
	} {
		if got := TransitionAllowed(c.from, c.to); got != c.ok {
			t.Errorf("%s → %s allowed = %v, want %v", c.from, c.to, got, c.ok)
		}
	}
}
