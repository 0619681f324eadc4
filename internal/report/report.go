// Package report answers the statistics questions of media buyers: clicks,
// conversions, revenue, cost and what follows from them, grouped by time in
// the caller's time zone and by campaign, stream, offer, landing or traffic
// source, filtered, sorted and totalled. It reads the store's hourly
// rollup, and the raw rows only where an hour is too coarse (a zone whose
// offset is not whole hours, conversions by conversion time).
package report

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trackd/trackd/internal/lowpri"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Time dimensions.
var timeDims = []string{"hour", "day", "week", "month", "day_of_week"}

// idDims maps the object dimensions to their store columns.
var idDims = map[string]string{
	"campaign": "campaign_id", "stream": "stream_id", "offer": "offer_id", "landing": "landing_id",
	"traffic_source": "traffic_source_id", "affiliate_network": "offer_id", // through the offer
}

// Dimensions lists the names GroupBy takes: time, objects, and the
// click's own values (store.RawDims: country, device, sub ids...), which
// are read from the raw clicks of the range.
func Dimensions() []string {
	out := append([]string{}, timeDims...)
	for d := range idDims {
		out = append(out, d)
	}
	slices.Sort(out[len(timeDims):])
	return append(out, store.RawDims...)
}

func isRaw(d string) bool { return slices.Contains(store.RawDims, d) }

// Query is a report request.
type Query struct {
	// Range is a preset (today, yesterday, last_7_days, last_30_days,
	// this_week, last_week, this_month, last_month) or empty with From and
	// To: dates (2026-11-01, the whole day) or RFC 3339 times; To is
	// inclusive for a date, exclusive for a time.
	Range    string `json:"range,omitempty"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Timezone string `json:"timezone,omitempty"`
	// GroupBy has one to three dimensions (see Dimensions).
	GroupBy []string `json:"group_by"`
	// Filters keep the rows whose dimension is one of the values (ids).
	Filters map[string][]int64 `json:"filters,omitempty"`
	// Where keeps the clicks whose own values match: "DIM OP VALUES",
	// e.g. "country in US,DE", "sub_id_1 contains 12", "keyword regex
	// ^buy", "sub_id_2 empty" (ops: in, not_in, contains, regex, empty,
	// not_empty).
	Where []string `json:"where,omitempty"`
	// Having keeps the rows whose metrics pass, e.g. "clicks > 100".
	Having []string `json:"having,omitempty"`
	// ConversionTime counts conversions when they happened instead of at
	// their click's time.
	ConversionTime bool `json:"conversion_time,omitempty"`
	// Sort is a metric or dimension, "-" first for descending.
	Sort   string `json:"sort,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	Offset int    `json:"offset,omitempty"`
}

// Result is a report: rows, and the totals of all rows before paging.
type Result struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Timezone string    `json:"timezone"`
	GroupBy  []string  `json:"group_by"`
	Rows     []Row     `json:"rows"`
	Total    Metrics   `json:"total"`
	// Count is the number of rows before paging.
	Count int `json:"count"`
	// Source says what the report read: "daily" (the daily rollup by
	// value), "hourly" (the hourly rollup) or "raw" (the raw clicks and
	// conversions of the range: slower, and empty where clicks were purged).
	Source string `json:"source"`
}

// Row is one group: its dimension values (as text: a date, an id) and its
// metrics.
type Row struct {
	Dims map[string]string `json:"dims"`
	Metrics
}

// MaxDays bounds a report's range.
const MaxDays = 400

// Run answers q over db; defaultTZ is the account's zone.
func Run(ctx context.Context, db *store.DB, q Query, defaultTZ string, now time.Time) (*Result, error) {
	p, err := makePlan(q, defaultTZ, now, MaxRows)
	if err != nil {
		return nil, err
	}
	return run(ctx, db, q, p)
}

func run(ctx context.Context, db *store.DB, q Query, p plan) (*Result, error) {
	sq, col, network, err := storeQuery(ctx, db, q, &p)
	if err != nil {
		return nil, err
	}
	var rows []store.StatsRow
	sq.From, sq.To = p.from, p.to
	source := "hourly"
	if db.DimsEligible(&sq, p.loc) {
		source = "daily"
		// Whole days of the daily rollup: one read for the whole range.
		byDay := slices.ContainsFunc(q.GroupBy, func(d string) bool { return slices.Contains(timeDims, d) })
		lowpri.Do(func() { rows, err = db.DimsRows(ctx, sq, byDay, p.matches) })
		if err != nil {
			return nil, err
		}
	} else {
		for _, st := range stretches(p.loc, p.from, p.to) {
			sq.From, sq.To, sq.Offset = st.from, st.to, st.offset
			if store.ReadsRaw(&sq) {
				source = "raw"
			}
			part, err := statsRows(ctx, db, sq)
			if err != nil {
				return nil, err
			}
			// A stretch that starts with a daylight saving change starts in
			// the middle of a day: its first bucket, counted from a midnight
			// at the new offset, is that day's.
			first := bucketStart(st.from.In(p.loc), sq.Bucket)
			for i := range part {
				if part[i].Bucket.Before(st.from) {
					part[i].Bucket = first
				}
			}
			rows = append(rows, part...)
		}
	}
	order, groups, sums, total := fold(rows, q.GroupBy, col, p.loc, network)
	res := &Result{From: p.from, To: p.to, Timezone: p.loc.String(), GroupBy: q.GroupBy, Rows: []Row{}, Total: compute(&total),
		Source: source}
	for _, k := range order {
		g := groups[k]
		g.Metrics = compute(sums[k])
		if p.having.pass(&g.Metrics) {
			res.Rows = append(res.Rows, *g)
		}
	}
	sortRows(res.Rows, q.GroupBy, p.sort, p.desc)
	res.Count = len(res.Rows)
	res.Rows = res.Rows[min(p.offset, len(res.Rows)):min(p.offset+p.limit, len(res.Rows))]
	return res, nil
}

// statsRows is db.StatsRows(q), on a low-priority thread (reports run
// there: the click path comes first). A read of raw rows is cut into as many
// pieces of whole buckets as low-priority work may run at once
// (lowpri.Slots: half the CPUs), read at once: raw reads are the slow
// ones, and SQLite runs a query on one core.
func statsRows(ctx context.Context, db *store.DB, q store.StatsQuery) ([]store.StatsRow, error) {
	n := lowpri.Slots()
	if !store.ReadsRaw(&q) || n < 2 || q.To.Sub(q.From) < time.Duration(n)*q.Bucket {
		var (
			rows []store.StatsRow
			err  error
		)
		lowpri.Do(func() { rows, err = db.StatsRows(ctx, q) })
		return rows, err
	}
	bucket, off := q.Bucket.Milliseconds(), q.Offset.Milliseconds()
	from, to := q.From.UnixMilli(), q.To.UnixMilli()
	cuts := []int64{from}
	for i := 1; i < n; i++ {
		c := from + (to-from)*int64(i)/int64(n)
		c = (c+off)/bucket*bucket - off // a bucket's start
		if c > cuts[len(cuts)-1] && c < to {
			cuts = append(cuts, c)
		}
	}
	cuts = append(cuts, to)
	parts := make([][]store.StatsRow, len(cuts)-1)
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lowpri.Do(func() {
				piece := q
				piece.From, piece.To = time.UnixMilli(cuts[i]).UTC(), time.UnixMilli(cuts[i+1]).UTC()
				parts[i], errs[i] = db.StatsRows(ctx, piece)
			})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return slices.Concat(parts...), nil
}

// storeQuery is the store's query for q: buckets, dimensions (col[i] is
// where group_by[i] is in the store's rows, -1 for time), filters; network
// maps offers to affiliate networks when q needs them.
func storeQuery(ctx context.Context, db *store.DB, q Query, p *plan) (sq store.StatsQuery, col []int, network map[string]string, err error) {
	// The store buckets by local hours or days, in stretches of the range
	// where the zone's offset is constant (DST changes it).
	sq = store.StatsQuery{Bucket: 24 * time.Hour, Where: map[string][]int64{}, ByConversionTime: q.ConversionTime,
		Match: p.match}
	if slices.Contains(q.GroupBy, "hour") {
		sq.Bucket = time.Hour
	}
	sq.Whole = !slices.ContainsFunc(q.GroupBy, func(d string) bool { return slices.Contains(timeDims, d) })
	col = make([]int, len(q.GroupBy))
	for i, d := range q.GroupBy {
		c := d
		if id, ok := idDims[d]; ok {
			c = id
		} else if !isRaw(d) {
			col[i] = -1
			continue
		}
		if col[i] = slices.Index(sq.Dims, c); col[i] < 0 {
			col[i] = len(sq.Dims)
			sq.Dims = append(sq.Dims, c)
		}
	}
	if network, err = networks(ctx, db, q, sq.Where); err != nil {
		return sq, nil, nil, err
	}
	for d, vs := range q.Filters {
		if d == "affiliate_network" {
			continue
		}
		if d == "offer" && sq.Where["offer_id"] != nil {
			// Both: the offers of the networks that are also listed.
			var both []int64
			for _, v := range vs {
				if slices.Contains(sq.Where["offer_id"], v) {
					both = append(both, v)
				}
			}
			sq.Where["offer_id"] = append([]int64{}, both...)
			continue
		}
		sq.Where[idDims[d]] = vs
	}
	return sq, col, network, nil
}

// networks maps offer ids to their affiliate network's id ("0" for none)
// when q groups or filters by network, and turns a network filter into
// the offers of those networks in where. It returns nil otherwise.
func networks(ctx context.Context, db *store.DB, q Query, where map[string][]int64) (map[string]string, error) {
	want, filtered := q.Filters["affiliate_network"]
	if !slices.Contains(q.GroupBy, "affiliate_network") && !filtered {
		return nil, nil
	}
	offers, err := db.Offers(ctx)
	if err != nil {
		return nil, err
	}
	network := map[string]string{}
	for _, o := range offers {
		n := int64(0)
		if o.AffiliateNetworkID != nil {
			n = *o.AffiliateNetworkID
		}
		network[strconv.FormatInt(o.ID, 10)] = strconv.FormatInt(n, 10)
		if filtered && slices.Contains(want, n) {
			where["offer_id"] = append(where["offer_id"], o.ID)
		}
	}
	if filtered && where["offer_id"] == nil {
		where["offer_id"] = []int64{} // no offer of those networks
	}
	return network, nil
}

// fold sums the store's rows into the report's groups, in the order they
// first appear: col[i] is where groupBy[i] is in a row's Dims (-1: time,
// labelled in loc), network maps offers to networks.
func fold(rows []store.StatsRow, groupBy []string, col []int, loc *time.Location, network map[string]string) (
	order []string, groups map[string]*Row, sums map[string]*store.Stats, total store.Stats) {
	groups, sums = map[string]*Row{}, map[string]*store.Stats{}
	for i := range rows {
		r := &rows[i]
		total.Add(&r.Stats)
		dims := make(map[string]string, len(groupBy))
		var key strings.Builder
		for i, d := range groupBy {
			var v string
			switch {
			case col[i] < 0:
				v = timeLabel(d, r.Bucket.In(loc))
			case d == "affiliate_network":
				v = network[r.Dims[col[i]]]
				if v == "" {
					v = "0" // a deleted offer
				}
			default:
				v = r.Dims[col[i]]
			}
			dims[d] = v
			key.WriteString(v)
			key.WriteByte(0)
		}
		k := key.String()
		if _, ok := groups[k]; !ok {
			groups[k] = &Row{Dims: dims}
			sums[k] = &store.Stats{}
			order = append(order, k)
		}
		sums[k].Add(&r.Stats)
	}
	return order, groups, sums, total
}

// plan is a checked query.
type plan struct {
	loc           *time.Location
	match         []store.DimMatch
	regexps       map[string]*regexp.Regexp // the compiled patterns of match
	from, to      time.Time
	having        having
	sort          string
	desc          bool
	limit, offset int
}

// MaxRows bounds the rows of a report built in memory (JSON, or an export
// sorted by a metric); MaxExportRows those of a streamed export.
const (
	MaxRows       = 10_000
	MaxExportRows = 10_000_000
)

func makePlan(q Query, defaultTZ string, now time.Time, maxRows int) (plan, error) {
	var p plan
	loc, err := zone(q.Timezone, defaultTZ)
	if err != nil {
		return p, err
	}
	p.loc = loc
	if len(q.GroupBy) == 0 || len(q.GroupBy) > 3 {
		return p, track.Invalid("group_by", "give one to three dimensions of %s", strings.Join(Dimensions()[:len(timeDims)+len(idDims)], ", ")+
			", country, device_type, os, browser, sub_id_1..sub_id_30...")
	}
	for i, d := range q.GroupBy {
		if _, ok := idDims[d]; !ok && !slices.Contains(timeDims, d) && !isRaw(d) {
			return p, track.Invalid("group_by["+strconv.Itoa(i)+"]", "unknown dimension %q (want one of %s)", d, strings.Join(Dimensions(), ", "))
		}
		if slices.Index(q.GroupBy, d) != i {
			return p, track.Invalid("group_by["+strconv.Itoa(i)+"]", "dimension %q is given twice", d)
		}
	}
	for d, vs := range q.Filters {
		if _, ok := idDims[d]; !ok {
			return p, track.Invalid("filters."+d, "unknown filter dimension %q (want campaign, stream, offer, landing or traffic_source)", d)
		}
		if len(vs) > 1000 {
			return p, track.Invalid("filters."+d, "at most 1000 values")
		}
	}
	if p.from, p.to, err = span(q, loc, now); err != nil {
		return p, err
	}
	if p.having, err = parseHaving(q.Having); err != nil {
		return p, err
	}
	if p.match, err = parseWhere(q.Where); err != nil {
		return p, err
	}
	p.regexps = map[string]*regexp.Regexp{}
	for _, m := range p.match {
		if m.Op == "regex" {
			p.regexps[m.Values[0]] = regexp.MustCompile(m.Values[0]) // parseWhere compiled it
		}
	}
	p.sort, p.desc = strings.TrimPrefix(q.Sort, "-"), strings.HasPrefix(q.Sort, "-")
	if p.sort != "" && !slices.Contains(q.GroupBy, p.sort) && !slices.Contains(MetricNames, p.sort) {
		return p, track.Invalid("sort", "cannot sort by %q: want a grouped dimension or a metric", p.sort)
	}
	p.limit, p.offset = q.Limit, q.Offset
	if p.limit == 0 {
		p.limit = min(1000, maxRows)
		if maxRows == MaxExportRows {
			p.limit = maxRows
		}
	}
	if p.limit < 1 || p.limit > maxRows {
		return p, track.Invalid("limit", "want 1 to %d", maxRows)
	}
	if p.offset < 0 {
		return p, track.Invalid("offset", "must not be negative")
	}
	return p, nil
}

func zone(tz, defaultTZ string) (*time.Location, error) {
	if tz == "" {
		tz = defaultTZ
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "Local" || tz == "" {
		return nil, track.Invalid("timezone", "unknown time zone %q (want an IANA name such as Europe/Berlin)", tz)
	}
	return loc, nil
}

// Span resolves q's range (Range, or From and To) in q's zone, defaultTZ
// when it has none, to [from, to) in UTC.
func Span(q Query, defaultTZ string, now time.Time) (time.Time, time.Time, error) {
	loc, err := zone(q.Timezone, defaultTZ)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return span(q, loc, now)
}

// span resolves the range in loc to [from, to) in UTC.
func span(q Query, loc *time.Location, now time.Time) (time.Time, time.Time, error) {
	n := now.In(loc)
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc) }
	today := day(n)
	var from, to time.Time
	switch q.Range {
	case "":
		if q.From == "" || q.To == "" {
			return from, to, track.Invalid("range", "give a range (today, yesterday, last_7_days, last_30_days, this_week, last_week, this_month, last_month) or from and to")
		}
		var err error
		if from, err = parseBound(q.From, loc, false); err != nil {
			return from, to, track.Invalid("from", "%v", err)
		}
		if to, err = parseBound(q.To, loc, true); err != nil {
			return from, to, track.Invalid("to", "%v", err)
		}
	case "today":
		from, to = today, today.AddDate(0, 0, 1)
	case "yesterday":
		from, to = today.AddDate(0, 0, -1), today
	case "last_7_days":
		from, to = today.AddDate(0, 0, -6), today.AddDate(0, 0, 1)
	case "last_30_days":
		from, to = today.AddDate(0, 0, -29), today.AddDate(0, 0, 1)
	case "this_week", "last_week":
		monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		from, to = monday, monday.AddDate(0, 0, 7)
		if q.Range == "last_week" {
			from, to = monday.AddDate(0, 0, -7), monday
		}
	case "this_month":
		from = time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc)
		to = from.AddDate(0, 1, 0)
	case "last_month":
		to = time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc)
		from = to.AddDate(0, -1, 0)
	default:
		return from, to, track.Invalid("range", "unknown range %q (want today, yesterday, last_7_days, last_30_days, this_week, last_week, this_month or last_month)", q.Range)
	}
	if !from.Before(to) {
		return from, to, track.Invalid("from", "from must be before to")
	}
	if to.Sub(from) > MaxDays*24*time.Hour {
		return from, to, track.Invalid("to", "a report covers at most %d days", MaxDays)
	}
	return from.UTC(), to.UTC(), nil
}

func parseBound(s string, loc *time.Location, end bool) (time.Time, error) {
	if d, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("%q is neither a date (2026-11-01) nor an RFC 3339 time", s)
	}
	return t, nil
}

// stretch is a part of a range where a zone's UTC offset is constant.
type stretch struct {
	from, to time.Time
	offset   time.Duration
}

// stretches cuts [from, to) where loc's offset changes.
func stretches(loc *time.Location, from, to time.Time) []stretch {
	var out []stretch
	for t := from; t.Before(to); {
		_, off := t.In(loc).Zone()
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || end.After(to) {
			end = to
		}
		out = append(out, stretch{t, end, time.Duration(off) * time.Second})
		t = end
	}
	return out
}

// parseWhere reads conditions on the clicks' own values.
func parseWhere(ws []string) ([]store.DimMatch, error) {
	if len(ws) > 20 {
		return nil, track.Invalid("where", "at most 20 conditions")
	}
	var out []store.DimMatch
	for i, w := range ws {
		field := "where[" + strconv.Itoa(i) + "]"
		dim, rest, _ := strings.Cut(strings.TrimSpace(w), " ")
		op, arg, _ := strings.Cut(strings.TrimSpace(rest), " ")
		m := store.DimMatch{Dim: dim, Op: op}
		if !isRaw(dim) {
			return nil, track.Invalid(field, "%q: no dimension %q to match (want country, sub_id_1, keyword...; objects go in filters)", w, dim)
		}
		switch op {
		case "in", "not_in", "contains":
			m.Values = strings.Split(arg, ",")
			if len(m.Values) > 1000 {
				return nil, track.Invalid(field, "at most 1000 values")
			}
			if op == "contains" && arg == "" {
				return nil, track.Invalid(field, "%q: contains what?", w)
			}
		case "regex":
			if len(arg) > 200 {
				return nil, track.Invalid(field, "a pattern of at most 200 bytes")
			}
			if _, err := regexp.Compile(arg); err != nil {
				return nil, track.Invalid(field, "%q: %v", w, err)
			}
			if msg := portableRegex(arg); msg != "" {
				return nil, track.Invalid(field, "%q: %s", w, msg)
			}
			m.Values = []string{arg}
		case "empty", "not_empty":
		default:
			return nil, track.Invalid(field, "%q: want DIM OP VALUES with OP one of %s", w, strings.Join(store.MatchOps, ", "))
		}
		out = append(out, m)
	}
	return out, nil
}

// matches is m on value v, as the store's SQL would say it.
func (p *plan) matches(m store.DimMatch, v string) bool {
	switch m.Op {
	case "in":
		return slices.Contains(m.Values, v)
	case "not_in":
		return !slices.Contains(m.Values, v)
	case "contains":
		lv := strings.ToLower(v)
		return slices.ContainsFunc(m.Values, func(x string) bool { return strings.Contains(lv, strings.ToLower(x)) })
	case "regex":
		return p.regexps[m.Values[0]].MatchString(v)
	case "empty":
		return v == ""
	default: // not_empty
		return v != ""
	}
}

// portableRegex says what in pattern SQLite (Go's regexp) and PostgreSQL
// would read differently, or "": flags, Unicode classes and escapes other
// than \d \w \s and escaped punctuation are refused.
func portableRegex(pattern string) string {
	if strings.Contains(pattern, "(?") {
		return "flags and special groups (?...) are not supported"
	}
	for i := 0; i < len(pattern); i++ {
		if pattern[i] != '\\' {
			continue
		}
		i++
		if i == len(pattern) {
			return "a trailing backslash"
		}
		c := pattern[i]
		if c == 'd' || c == 'w' || c == 's' || c < 0x80 && !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			continue
		}
		return fmt.Sprintf("the escape \\%c is not supported (use \\d, \\w, \\s or an escaped punctuation mark)", c)
	}
	return ""
}

func timeLabel(dim string, t time.Time) string {
	switch dim {
	case "hour":
		return t.Format("2006-01-02 15:00")
	case "day":
		return t.Format("2006-01-02")
	case "week": // the Monday that starts it
		return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7)).Format("2006-01-02")
	case "month":
		return t.Format("2006-01")
	case "day_of_week": // 1 Monday .. 7 Sunday, sorts in order
		return strconv.Itoa((int(t.Weekday())+6)%7+1) + " " + t.Weekday().String()
	}
	return ""
}

// sortRows orders rows by the metric or dimension by, else by the
// dimensions in groupBy's order; ties (equal metrics) go by the
// dimensions, ascending, so that the order never depends on how the rows
// were read.
func sortRows(rows []Row, groupBy []string, by string, desc bool) {
	byDims := func(a, b *Row) int {
		for _, d := range groupBy {
			if c := compareDim(d, a.Dims[d], b.Dims[d]); c != 0 {
				return c
			}
		}
		return 0
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := &rows[i], &rows[j]
		var c int
		switch {
		case by == "":
			c = byDims(a, b)
		case slices.Contains(groupBy, by):
			c = compareDim(by, a.Dims[by], b.Dims[by])
		default:
			c = compareMetric(&a.Metrics, &b.Metrics, by)
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = byDims(a, b)
		}
		return c < 0
	})
}

func compareDim(d, a, b string) int {
	if _, ok := idDims[d]; ok {
		x, _ := strconv.ParseInt(a, 10, 64)
		y, _ := strconv.ParseInt(b, 10, 64)
		return cmpInt(x, y)
	}
	return strings.Compare(a, b)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
