package report

import (
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// FuzzPlan: whatever a caller sends as a report question, planning it
// gives a plan or an invalid-input error naming a field, never a panic,
// and a plan's range is never empty, reversed or longer than MaxDays.
func FuzzPlan(f *testing.F) {
	f.Add("day,campaign", "last_7_days", "", "", "Europe/Berlin", "country in US,DE", "clicks > 100", "-clicks")
	f.Add("hour", "", "2026-11-01", "2026-11-02", "Asia/Kolkata", "keyword regex ^a(b|c)*$", "roi<=-20.5", "hour")
	f.Add("sub_id_1,offer,bot", "", "2026-11-01T00:00:00Z", "2026-11-01T05:00:00+05:30", "", "sub_id_1 contains ,,", "cr!=0", "")
	f.Add("nope", "forever", "x", "y", "Mars/Base", "x y z", ">=", "-")
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, groupBy, rng, from, to, tz, where, having, sort string) {
		q := Query{Range: rng, From: from, To: to, Timezone: tz, Sort: sort}
		if groupBy != "" {
			q.GroupBy = strings.Split(groupBy, ",")
		}
		if where != "" {
			q.Where = strings.Split(where, ";")
		}
		if having != "" {
			q.Having = strings.Split(having, ";")
		}
		p, err := makePlan(q, "UTC", now, MaxRows)
		if err != nil {
			if _, ok := err.(*track.InvalidError); !ok {
				t.Fatalf("%+v: error %T %v, want an *InvalidError", q, err, err)
			}
			return
		}
		if !p.from.Before(p.to) || p.to.Sub(p.from) > MaxDays*24*time.Hour {
			t.Fatalf("%+v: range %s .. %s", q, p.from, p.to)
		}
		for _, st := range stretches(p.loc, p.from, p.to) {
			if !st.from.Before(st.to) {
				t.Fatalf("%+v: empty stretch %+v", q, st)
			}
		}
	})
}
