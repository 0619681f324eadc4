package report

import (
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/lowpri"
	"github.com/trackd/trackd/internal/store"
)

// Export writes the rows of q as CSV to w (reading on a low-priority
// thread, see lowpri), a header first: every row
// unless q.Limit says fewer (at most MaxExportRows). The database sums and
// orders the rows and they are written as they come, so memory does not
// grow with their number: ordered by the dimensions that are not time,
// then time. A sort (by a metric or a dimension), a grouping by affiliate
// network, or what the daily rollup answers builds the report in memory
// instead (sorted: at most MaxRows rows).
func Export(ctx context.Context, db *store.DB, q Query, defaultTZ string, now time.Time, w *csv.Writer) error {
	maxRows := MaxExportRows
	if q.Sort != "" {
		maxRows = MaxRows
	}
	p, err := makePlan(q, defaultTZ, now, maxRows)
	if err != nil {
		return err
	}
	sq, col, _, err := storeQuery(ctx, db, q, &p)
	if err != nil {
		return err
	}
	sq.From, sq.To = p.from, p.to
	header := append(append([]string{}, q.GroupBy...), MetricNames...)
	if maxRows == MaxRows || slices.Contains(q.GroupBy, "affiliate_network") || db.DimsEligible(&sq, p.loc) {
		q.Limit = p.limit
		res, err := run(ctx, db, q, p)
		if err != nil {
			return err
		}
		w.Write(header)
		for _, row := range res.Rows {
			writeRow(w, q.GroupBy, row.Dims, &row.Metrics)
		}
		w.Flush()
		return w.Error()
	}
	var stretched []store.Stretch
	for _, st := range stretches(p.loc, p.from, p.to) {
		stretched = append(stretched, store.Stretch{From: st.from, To: st.to, Offset: st.offset,
			First: bucketStart(st.from.In(p.loc), sq.Bucket)})
	}
	// Rows come ordered by the dimensions that are not time, then bucket:
	// a group's buckets are summed by their label (a week is days, a day
	// across a daylight saving change is two buckets) until the group
	// changes.
	var (
		started  bool
		groupKey []string
		labels   []string
		sums     = map[string]*store.Stats{}
		skipped  int
		written  int
	)
	flush := func() error {
		slices.Sort(labels)
		dims := map[string]string{}
		for i, d := range q.GroupBy {
			if col[i] >= 0 {
				dims[d] = groupKey[col[i]]
			}
		}
		for _, l := range labels {
			m := compute(sums[l])
			if !p.having.pass(&m) {
				continue
			}
			if skipped < p.offset {
				skipped++
				continue
			}
			if written == p.limit {
				return errEnough
			}
			parts := strings.Split(l, "\x00")
			for i, d := range q.GroupBy {
				if col[i] < 0 {
					dims[d], parts = parts[0], parts[1:]
				}
			}
			writeRow(w, q.GroupBy, dims, &m)
			written++
		}
		labels = labels[:0]
		clear(sums)
		return w.Error()
	}
	var timeDims []string
	for i, d := range q.GroupBy {
		if col[i] < 0 {
			timeDims = append(timeDims, d)
		}
	}
	w.Write(header)
	lowpri.Do(func() {
		err = db.StreamStats(ctx, sq, stretched, func(r *store.StatsRow) error {
			if !started || !slices.Equal(groupKey, r.Dims) {
				if started {
					if err := flush(); err != nil {
						return err
					}
				}
				started, groupKey = true, append(groupKey[:0], r.Dims...)
			}
			var ls []string
			for _, d := range timeDims {
				ls = append(ls, timeLabel(d, r.Bucket.In(p.loc)))
			}
			l := strings.Join(ls, "\x00")
			if sums[l] == nil {
				sums[l] = &store.Stats{}
				labels = append(labels, l)
			}
			sums[l].Add(&r.Stats)
			return nil
		})
	})
	if err == nil && started {
		err = flush()
	}
	if err != nil && err != errEnough {
		return err
	}
	w.Flush()
	return w.Error()
}

type enough struct{}

func (enough) Error() string { return "enough rows" }

var errEnough error = enough{}

// bucketStart is the start of the bucket t falls in, in t's zone.
func bucketStart(t time.Time, bucket time.Duration) time.Time {
	y, m, d := t.Date()
	if bucket == time.Hour {
		return time.Date(y, m, d, t.Hour(), 0, 0, 0, t.Location())
	}
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

func writeRow(w *csv.Writer, groupBy []string, dims map[string]string, m *Metrics) {
	rec := make([]string, 0, len(groupBy)+len(MetricNames))
	for _, d := range groupBy {
		rec = append(rec, dims[d])
	}
	w.Write(append(rec, m.Values()...))
}
