package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// StatsKey is the key of a row of stats_hourly.
type StatsKey struct {
	Hour                                                      int64 // start of the UTC hour, ms
	CampaignID, StreamID, OfferID, LandingID, TrafficSourceID int64
}

// Stats are the counters of stats_hourly; a delta when written.
type Stats struct {
	Clicks, UniqueCampaign, UniqueStream, UniqueGlobal, Bots, LPClicks int64
	Cost                                                               int64
	Leads, Sales, Rejected, Rebills                                    int64
	RevenueHold, RevenueConfirmed, RevenueRejected                     int64
}

// statsColumns are the counters in the order of Stats.
var statsColumns = []string{"clicks", "unique_campaign", "unique_stream", "unique_global", "bots", "lp_clicks", "cost",
	"leads", "sales", "rejected", "rebills", "revenue_hold", "revenue_confirmed", "revenue_rejected"}

func (s *Stats) values() []any {
	return []any{s.Clicks, s.UniqueCampaign, s.UniqueStream, s.UniqueGlobal, s.Bots, s.LPClicks, s.Cost,
		s.Leads, s.Sales, s.Rejected, s.Rebills, s.RevenueHold, s.RevenueConfirmed, s.RevenueRejected}
}

func (s *Stats) ptrs() []any {
	return []any{&s.Clicks, &s.UniqueCampaign, &s.UniqueStream, &s.UniqueGlobal, &s.Bots, &s.LPClicks, &s.Cost,
		&s.Leads, &s.Sales, &s.Rejected, &s.Rebills, &s.RevenueHold, &s.RevenueConfirmed, &s.RevenueRejected}
}

// Add adds o to s. It runs for every value of every click the writer
// sums: field by field, no boxing.
func (s *Stats) Add(o *Stats) {
	s.Clicks += o.Clicks
	s.UniqueCampaign += o.UniqueCampaign
	s.UniqueStream += o.UniqueStream
	s.UniqueGlobal += o.UniqueGlobal
	s.Bots += o.Bots
	s.LPClicks += o.LPClicks
	s.Cost += o.Cost
	s.Leads += o.Leads
	s.Sales += o.Sales
	s.Rejected += o.Rejected
	s.Rebills += o.Rebills
	s.RevenueHold += o.RevenueHold
	s.RevenueConfirmed += o.RevenueConfirmed
	s.RevenueRejected += o.RevenueRejected
}

// clickStatColumns are the counters a click moves (see clickStat): the
// writer's upserts of click deltas name only these.
var clickStatColumns = []string{"clicks", "unique_campaign", "unique_stream", "unique_global", "bots", "cost"}

func (s *Stats) appendClickValues(dst []any) []any {
	return append(dst, s.Clicks, s.UniqueCampaign, s.UniqueStream, s.UniqueGlobal, s.Bots, s.Cost)
}

// upsertsOf are the statements that add click deltas to a table, for
// 1, 2, 4 ... rowsPerUpsert rows: a batch's rows go in a few statements
// instead of one each (SQLite).
type upsertsOf map[int]string

// rowsPerUpsert is the most rows one upsert of click deltas writes.
const rowsPerUpsert = 32

func clickUpserts(table string, keys []string) upsertsOf {
	out := upsertsOf{}
	cols := append(append([]string{}, keys...), clickStatColumns...)
	var set []string
	for _, c := range clickStatColumns {
		set = append(set, c+" = "+table+"."+c+" + excluded."+c)
	}
	row := "(" + placeholders(len(cols)) + ")"
	for n := 1; n <= rowsPerUpsert; n *= 2 {
		out[n] = "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(row+", ", n), ", ") +
			" ON CONFLICT (" + strings.Join(keys, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
	}
	return out
}

var (
	addClickStatsSQL = clickUpserts("stats_hourly", statsKeyColumns)
	addClickDimsSQL  = clickUpserts("stats_daily_dims", dimsKeyColumns)
)

// upsert writes rows (each the values of a statement's row) with the
// statements of u, the largest that fit first.
func (tx *Tx) upsert(ctx context.Context, u upsertsOf, rows [][]any) error {
	var args []any
	for n := rowsPerUpsert; len(rows) > 0; n /= 2 {
		for len(rows) >= n {
			args = args[:0]
			for _, r := range rows[:n] {
				args = append(args, r...)
			}
			if _, err := tx.execPrepared(ctx, u[n], args...); err != nil {
				return err
			}
			rows = rows[n:]
		}
	}
	return nil
}

// addClickStats is AddStats of deltas that only clicks made.
func (tx *Tx) addClickStats(ctx context.Context, deltas map[StatsKey]*Stats) error {
	rows := make([][]any, 0, len(deltas))
	for k, s := range deltas {
		rows = append(rows, s.appendClickValues([]any{k.Hour, k.CampaignID, k.StreamID, k.OfferID, k.LandingID, k.TrafficSourceID}))
	}
	if err := tx.upsert(ctx, addClickStatsSQL, rows); err != nil {
		return fmt.Errorf("store: add to the statistics: %w", err)
	}
	return nil
}

var statsKeyColumns = []string{"hour", "campaign_id", "stream_id", "offer_id", "landing_id", "traffic_source_id"}

// addStatsSQL adds one delta to its row, making it when new.
var addStatsSQL = addSQL("stats_hourly", statsKeyColumns)

// addSQL is the statement that adds a delta of the statistics to the row
// of table whose key columns are keys, making it when new.
func addSQL(table string, keys []string) string {
	var set []string
	for _, c := range statsColumns {
		set = append(set, c+" = "+table+"."+c+" + excluded."+c)
	}
	cols := append(append([]string{}, keys...), statsColumns...)
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + placeholders(len(cols)) +
		") ON CONFLICT (" + strings.Join(keys, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
}

func hourOf(t time.Time) int64 { return toDB(t) / 3_600_000 * 3_600_000 }

func clickKey(c *track.Click) StatsKey {
	return StatsKey{hourOf(c.CreatedAt), c.CampaignID, c.StreamID, c.OfferID, c.LandingID, c.TrafficSourceID}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// clickStats sums clicks by their row of stats_hourly.
func clickStats(clicks []track.Click) map[StatsKey]*Stats {
	out := map[StatsKey]*Stats{}
	for i := range clicks {
		c := &clicks[i]
		k := clickKey(c)
		s := out[k]
		if s == nil {
			s = &Stats{}
			out[k] = s
		}
		s.Clicks++
		s.UniqueCampaign += b2i(c.UniqueCampaign)
		s.UniqueStream += b2i(c.UniqueStream)
		s.UniqueGlobal += b2i(c.UniqueGlobal)
		s.Bots += b2i(c.IsBot)
		s.Cost += int64(c.Cost)
	}
	return out
}

// addStatsArgs returns the arguments of addStatsSQL for one row.
func addStatsArgs(k StatsKey, s *Stats) []any {
	return append([]any{k.Hour, k.CampaignID, k.StreamID, k.OfferID, k.LandingID, k.TrafficSourceID}, s.values()...)
}

// AddStats adds deltas to their rows of stats_hourly.
func (tx *Tx) AddStats(ctx context.Context, deltas map[StatsKey]*Stats) error {
	for k, s := range deltas {
		if _, err := tx.execPrepared(ctx, addStatsSQL, addStatsArgs(k, s)...); err != nil {
			return fmt.Errorf("store: add to the statistics: %w", err)
		}
	}
	return nil
}

// conversionStats is what conversion c counts for in its click's row.
func conversionStats(c *track.Conversion) Stats {
	s := Stats{Cost: int64(c.Cost)}
	p := int64(c.Payout)
	switch c.Status {
	case track.StatusLead:
		s.Leads, s.RevenueHold = 1, p
	case track.StatusSale:
		s.Sales, s.RevenueConfirmed = 1, p
	case track.StatusRebill:
		s.Rebills, s.RevenueConfirmed = 1, p
	case track.StatusRejected:
		s.Rejected, s.RevenueRejected = 1, p
	}
	return s
}

// ConversionChanged moves the statistics from what conversion old counted
// for (nil when it is new) to what now counts for, in the hour of its
// click (and the day and values of click, the click it converts), with the
// statistics of the transaction when it commits.
func (tx *Tx) ConversionChanged(ctx context.Context, old, now *track.Conversion, click *track.Click) error {
	d := conversionStats(now)
	if old != nil {
		o := conversionStats(old)
		a, b := d.ptrs(), o.values()
		for i := range a {
			*a[i].(*int64) -= b[i].(int64)
		}
	}
	k := StatsKey{hourOf(now.ClickTime), now.CampaignID, now.StreamID, now.OfferID, now.LandingID, now.TrafficSourceID}
	// Summed per row and written once before the commit: a batch of
	// postbacks for a few campaigns is a few upserts.
	if tx.stats == nil {
		tx.stats = map[StatsKey]*Stats{}
	}
	if tx.stats[k] == nil {
		tx.stats[k] = &Stats{}
	}
	tx.stats[k].Add(&d)
	tx.dimsDelta(click, &d)
	return nil
}

// StatsDims are the dimensions stats_hourly keeps, by their column.
var StatsDims = []string{"campaign_id", "stream_id", "offer_id", "landing_id", "traffic_source_id"}

// RawDims are the dimensions only raw clicks have: reports by them scan
// the clicks of the range.
var RawDims = func() []string {
	out := []string{"country", "region", "city", "isp", "connection_type", "language", "device_type", "os", "os_version",
		"browser", "browser_version", "bot", "unique", "external_id", "source", "creative_id", "ad_campaign_id", "keyword"}
	for i := 1; i <= track.MaxSubIDs; i++ {
		out = append(out, fmt.Sprintf("sub_id_%d", i))
	}
	return out
}()

// rawDimSQL is the expression of a raw dimension over c, the table
// reports read raw clicks from: click_facts on SQLite, clicks on
// PostgreSQL.
func (db *DB) rawDimSQL(d string) string {
	if db.engine == SQLite {
		switch d {
		case "bot":
			return "CASE WHEN c.is_bot THEN 'yes' ELSE 'no' END"
		case "unique":
			return "CASE WHEN c.unique_campaign THEN 'yes' ELSE 'no' END"
		}
		return "COALESCE(c." + d + ", '')"
	}
	return clickDimSQL(d)
}

// clickDimSQL is the expression of a raw dimension over the clicks table c.
func clickDimSQL(d string) string {
	switch d {
	case "country", "device_type", "os", "browser", "external_id":
		return "c." + d
	case "bot":
		return "CASE WHEN c.is_bot THEN 'yes' ELSE 'no' END"
	case "unique":
		return "CASE WHEN c.unique_campaign THEN 'yes' ELSE 'no' END"
	}
	return "COALESCE(c.details::jsonb ->> '" + d + "', '')"
}

// StatsQuery asks for sums of the statistics in [From, To) by time bucket
// and dimensions.
type StatsQuery struct {
	From, To time.Time
	// Bucket is the time granularity; it divides a day. Buckets start at
	// multiples of Bucket in the zone whose UTC offset is Offset (constant
	// over [From, To)). The hourly rollup serves whole hours at a whole-hour
	// offset; anything finer reads raw rows.
	Bucket time.Duration
	Offset time.Duration
	// Whole sums the range as one bucket (starting at From): a report
	// with no time dimension needs no more.
	Whole bool
	Dims  []string           // of StatsDims and RawDims
	Where map[string][]int64 // dimension → the values it may take
	// ByConversionTime counts conversions when they happened instead of
	// at their click's time (raw rows).
	ByConversionTime bool
	// Match keeps the clicks whose raw dimensions match (raw rows).
	Match []DimMatch
}

// DimMatch is a condition on a raw dimension of the clicks: Op is "in",
// "not_in", "contains" (any of Values, ignoring case), "regex" (Values[0],
// Go syntax), "empty" or "not_empty".
type DimMatch struct {
	Dim    string
	Op     string
	Values []string
}

// MatchOps are the operators of DimMatch.
var MatchOps = []string{"in", "not_in", "contains", "regex", "empty", "not_empty"}

// matchSQL is m as a condition with its arguments.
func (db *DB) matchSQL(m DimMatch) (string, []any) {
	expr := db.rawDimSQL(m.Dim)
	args := make([]any, len(m.Values))
	for i, v := range m.Values {
		args[i] = v
	}
	switch m.Op {
	case "in", "not_in":
		if len(m.Values) == 0 {
			if m.Op == "in" {
				return "1 = 0", nil
			}
			return "1 = 1", nil
		}
		not := ""
		if m.Op == "not_in" {
			not = "NOT "
		}
		return expr + " " + not + "IN (" + placeholders(len(m.Values)) + ")", args
	case "contains":
		var or []string
		for i, v := range m.Values {
			esc := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(v))
			args[i] = "%" + esc + "%"
			or = append(or, "LOWER("+expr+") LIKE ? ESCAPE '\\'")
		}
		return "(" + strings.Join(or, " OR ") + ")", args
	case "regex":
		if db.engine == Postgres {
			return expr + " ~ ?", args[:1]
		}
		return expr + " REGEXP ?", args[:1]
	case "empty":
		return expr + " = ''", nil
	default: // not_empty
		return expr + " <> ''", nil
	}
}

// StatsRow is the sums of one time bucket and dimension values.
type StatsRow struct {
	Bucket time.Time
	Dims   []string // in the order of StatsQuery.Dims (ids as decimal text)
	Stats
}

func validStatsQuery(q *StatsQuery) error {
	for _, d := range q.Dims {
		if !slices.Contains(StatsDims, d) && !slices.Contains(RawDims, d) {
			return fmt.Errorf("store: statistics have no dimension %q", d)
		}
	}
	for d := range q.Where {
		if !slices.Contains(StatsDims, d) {
			return fmt.Errorf("store: statistics have no dimension %q", d)
		}
	}
	for _, m := range q.Match {
		if !slices.Contains(RawDims, m.Dim) || !slices.Contains(MatchOps, m.Op) ||
			(m.Op == "regex" && len(m.Values) != 1) || (m.Op == "contains" && len(m.Values) == 0) {
			return fmt.Errorf("store: bad condition %+v", m)
		}
	}
	if q.Bucket <= 0 || 24*time.Hour%q.Bucket != 0 || q.Bucket%time.Millisecond != 0 || q.Offset%time.Minute != 0 {
		return fmt.Errorf("store: bucket %s does not divide a day", q.Bucket)
	}
	return nil
}

// statsPart is one source of StatsRows: tables, the time column, the
// alias of the table with the id dimensions (clicks are always c when
// joined), and one sum per statsColumns entry ("0" where none).
type statsPart struct {
	from, time, ids string
	sums            []string
	// row and add are the part row by row (SQLite raw reads, summed in
	// Go): integer expressions of one source row, and how they add to
	// the statistics.
	row []string
	add func(s *Stats, v []int64)
}

func partSums(set map[string]string) []string {
	out := make([]string, len(statsColumns))
	for i, c := range statsColumns {
		out[i] = "0"
		if v, ok := set[c]; ok {
			out[i] = v
		}
	}
	return out
}

// statsParts are the sources of q: the hourly rollup when the bucket is an
// hour, conversions count at their click's time and no dimension is raw;
// else the raw clicks, landing clicks and conversions.
func (db *DB) statsParts(q *StatsQuery) []statsPart {
	if !ReadsRaw(q) {
		sums := make([]string, len(statsColumns))
		for i, c := range statsColumns {
			sums[i] = "SUM(" + c + ")"
		}
		return []statsPart{{from: "stats_hourly s", time: "s.hour", ids: "s", sums: sums}}
	}
	convTime := "v.click_time"
	if q.ByConversionTime {
		convTime = "v.created_at"
	}
	// SQLite reads the clicks' values from click_facts, in campaign and
	// time order; PostgreSQL from clicks.
	clicks := "clicks c"
	landings := "landing_clicks l JOIN clicks c ON c.click_id = l.click_id"
	conversions := "conversions v JOIN clicks c ON c.click_id = v.click_id"
	if db.engine == SQLite {
		// CROSS JOIN fixes the order of the loops (SQLite's planner has no
		// statistics): the range of the facts, then the landing clicks of
		// each; the range of conversions, then the facts of each.
		clicks = "click_facts c"
		landings = "click_facts c CROSS JOIN landing_clicks l ON l.click_id = c.click_id"
		if _, ok := q.Where["campaign_id"]; !ok {
			// Every campaign: the landing clicks are fewer than the clicks.
			landings = "landing_clicks l CROSS JOIN clicks k ON k.click_id = l.click_id CROSS JOIN click_facts c " +
				"ON c.campaign_id = k.campaign_id AND c.created_at = k.created_at AND c.click_id = k.click_id"
		}
		conversions = "conversions v CROSS JOIN click_facts c ON c.campaign_id = v.campaign_id AND c.created_at = v.click_time " +
			"AND c.click_id = v.click_id"
	}
	return []statsPart{
		{clicks, "c.created_at", "c", partSums(map[string]string{"clicks": "COUNT(*)",
			"unique_campaign": "SUM(CASE WHEN c.unique_campaign THEN 1 ELSE 0 END)",
			"unique_stream":   "SUM(CASE WHEN c.unique_stream THEN 1 ELSE 0 END)",
			"unique_global":   "SUM(CASE WHEN c.unique_global THEN 1 ELSE 0 END)",
			"bots":            "SUM(CASE WHEN c.is_bot THEN 1 ELSE 0 END)", "cost": "SUM(c.cost)"}),
			// click_facts keeps the flags as 0 or 1.
			[]string{"c.unique_campaign + 2 * c.unique_stream + 4 * c.unique_global + 8 * c.is_bot", "c.cost"},
			func(s *Stats, v []int64) {
				s.Clicks++
				s.UniqueCampaign += v[0] & 1
				s.UniqueStream += v[0] >> 1 & 1
				s.UniqueGlobal += v[0] >> 2 & 1
				s.Bots += v[0] >> 3 & 1
				s.Cost += v[1]
			}},
		{landings, "c.created_at", "c",
			partSums(map[string]string{"lp_clicks": "COUNT(*)"}),
			[]string{}, func(s *Stats, _ []int64) { s.LPClicks++ }},
		{conversions, convTime, "v", partSums(map[string]string{
			"leads":             "SUM(CASE WHEN v.status = 'lead' THEN 1 ELSE 0 END)",
			"sales":             "SUM(CASE WHEN v.status = 'sale' THEN 1 ELSE 0 END)",
			"rejected":          "SUM(CASE WHEN v.status = 'rejected' THEN 1 ELSE 0 END)",
			"rebills":           "SUM(CASE WHEN v.status = 'rebill' THEN 1 ELSE 0 END)",
			"revenue_hold":      "SUM(CASE WHEN v.status = 'lead' THEN v.payout ELSE 0 END)",
			"revenue_confirmed": "SUM(CASE WHEN v.status IN ('sale', 'rebill') THEN v.payout ELSE 0 END)",
			"revenue_rejected":  "SUM(CASE WHEN v.status = 'rejected' THEN v.payout ELSE 0 END)",
			"cost":              "SUM(v.cost)",
		}),
			[]string{"CASE v.status WHEN 'lead' THEN 1 WHEN 'sale' THEN 2 WHEN 'rejected' THEN 3 WHEN 'rebill' THEN 4 " +
				"ELSE 0 END", "v.payout", "v.cost"},
			func(s *Stats, v []int64) {
				c := conversionStats(&track.Conversion{Status: rowStatuses[v[0]], Payout: track.Money(v[1]), Cost: track.Money(v[2])})
				s.Add(&c)
			}},
	}
}

// rowStatuses are the statuses by their code in statsParts' row of a
// conversion.
var rowStatuses = [...]track.Status{"", track.StatusLead, track.StatusSale, track.StatusRejected, track.StatusRebill}

// noLandingClicks reports whether the hourly rollup has no landing click
// in the hours of q's range and its filters.
func (db *DB) noLandingClicks(ctx context.Context, q *StatsQuery) (bool, error) {
	hours := *q
	hours.From = time.UnixMilli(hourOf(q.From)).UTC()
	where, args := db.statsWhere(&hours, statsPart{ids: "s", time: "s.hour"}, hours.From, q.To)
	var n int64
	if err := db.queryRow(ctx, "SELECT COALESCE(SUM(s.lp_clicks), 0) FROM stats_hourly s WHERE "+where, args...).Scan(&n); err != nil {
		return false, fmt.Errorf("store: statistics: %w", err)
	}
	return n == 0, nil
}

// ReadsRaw reports whether StatsRows answers q from the raw rows rather
// than the hourly rollup.
func ReadsRaw(q *StatsQuery) bool {
	raw := q.Bucket%time.Hour != 0 || q.Offset%time.Hour != 0 || q.ByConversionTime || len(q.Match) > 0
	for _, d := range q.Dims {
		raw = raw || slices.Contains(RawDims, d)
	}
	return raw
}

// StatsRows sums the statistics by q's buckets and dimensions.
func (db *DB) StatsRows(ctx context.Context, q StatsQuery) ([]StatsRow, error) {
	if err := validStatsQuery(&q); err != nil {
		return nil, err
	}
	bucket, off := q.Bucket.Milliseconds(), q.Offset.Milliseconds()
	var out []StatsRow
	index := map[string]int{}
	parts := db.statsParts(&q)
	if len(parts) == 3 {
		// Raw: the landing clicks' join costs a lookup per click; skip it
		// where the hourly rollup has none.
		none, err := db.noLandingClicks(ctx, &q)
		if err != nil {
			return nil, err
		}
		if none {
			parts = slices.Delete(parts, 1, 2)
		}
	}
	for _, p := range parts {
		if db.engine == SQLite && p.add != nil {
			var err error
			if out, err = db.sumRows(ctx, &q, p, out, index); err != nil {
				return nil, err
			}
			continue
		}
		prefix := p.ids + "."
		cols := []string{bucketSQL(p.time, off, bucket)}
		group := []string{cols[0]}
		if q.Whole && len(q.Dims) > 0 {
			// One bucket: grouped by the dimensions alone (a number in
			// GROUP BY would name a column).
			cols, group = []string{strconv.FormatInt(toDB(q.From), 10)}, nil
		}
		for _, d := range q.Dims {
			e := prefix + d
			if slices.Contains(RawDims, d) {
				e = db.rawDimSQL(d)
			}
			cols, group = append(cols, e), append(group, e)
		}
		where, args := db.statsWhere(&q, p, q.From, q.To)
		query := "SELECT " + strings.Join(cols, ", ") + ", " + strings.Join(p.sums, ", ") + " FROM " + p.from +
			" WHERE " + where + " GROUP BY " + strings.Join(group, ", ")
		rows, err := db.query(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("store: statistics: %w", err)
		}
		for rows.Next() {
			var (
				at   int64
				r    StatsRow
				dest = []any{&at}
			)
			r.Dims = make([]string, len(q.Dims))
			for i := range r.Dims {
				dest = append(dest, &r.Dims[i])
			}
			dest = append(dest, r.ptrs()...)
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: statistics: %w", err)
			}
			r.Bucket = fromDB(at)
			key := strconv.FormatInt(at, 10) + "\x00" + strings.Join(r.Dims, "\x00")
			if i, ok := index[key]; ok {
				out[i].Add(&r.Stats)
				continue
			}
			index[key] = len(out)
			out = append(out, r)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("store: statistics: %w", err)
		}
	}
	return out, nil
}

// bucketSQL is the start of the bucket (UTC ms) that the time column t
// falls in, buckets of bucket ms starting at multiples of it in a zone off
// ms from UTC.
func bucketSQL(t string, off, bucket int64) string {
	return fmt.Sprintf("(%s + %d) / %d * %d - %d", t, off, bucket, bucket, off)
}

// sumRows is StatsRows' loop for part p read row by row and summed in Go,
// into out and index (the position in out of a bucket and dimensions'
// key). SQLite groups by sorting every row first, which cost more than
// reading them (a campaign's month of clicks, 499,231 rows, in the C
// shell: 114 ms to read and sum, 309 ms grouped by sub id; the report by
// sub id through trackd: 582 ms, 465 ms summed in Go); a Go map groups
// them as they come.
func (db *DB) sumRows(ctx context.Context, q *StatsQuery, p statsPart, out []StatsRow, index map[string]int) ([]StatsRow, error) {
	bucket, off := q.Bucket.Milliseconds(), q.Offset.Milliseconds()
	var cols []string
	if !q.Whole {
		cols = append(cols, bucketSQL(p.time, off, bucket))
	}
	// Ids scan as integers, values as text (no conversion per row).
	ids := make([]bool, len(q.Dims))
	for i, d := range q.Dims {
		if slices.Contains(RawDims, d) {
			cols = append(cols, db.rawDimSQL(d))
		} else {
			cols, ids[i] = append(cols, p.ids+"."+d), true
		}
	}
	cols = append(cols, p.row...)
	if len(cols) == 0 {
		cols = []string{"1"}
	}
	where, args := db.statsWhere(q, p, q.From, q.To)
	rows, err := db.query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+p.from+" WHERE "+where, args...)
	if err != nil {
		return out, fmt.Errorf("store: statistics: %w", err)
	}
	defer rows.Close()
	var (
		at    = toDB(q.From)
		texts = make([]string, len(q.Dims))
		nums  = make([]int64, len(q.Dims))
		vals  = make([]int64, len(p.row))
		dest  []any
		key   []byte
		one   int64
	)
	if !q.Whole {
		dest = append(dest, &at)
	}
	for i := range q.Dims {
		if ids[i] {
			dest = append(dest, &nums[i])
		} else {
			dest = append(dest, &texts[i])
		}
	}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	if len(dest) == 0 {
		dest = append(dest, &one)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return out, fmt.Errorf("store: statistics: %w", err)
		}
		key = strconv.AppendInt(key[:0], at, 10)
		for i := range q.Dims {
			key = append(key, 0)
			if ids[i] {
				key = strconv.AppendInt(key, nums[i], 10)
			} else {
				key = append(key, texts[i]...)
			}
		}
		i, ok := index[string(key)]
		if !ok {
			r := StatsRow{Bucket: fromDB(at), Dims: make([]string, len(q.Dims))}
			for j := range r.Dims {
				r.Dims[j] = texts[j]
				if ids[j] {
					r.Dims[j] = strconv.FormatInt(nums[j], 10)
				}
			}
			i = len(out)
			index[string(key)] = i
			out = append(out, r)
		}
		p.add(&out[i].Stats, vals)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: statistics: %w", err)
	}
	return out, nil
}

// Stretch is a part of a range where the zone's UTC offset is constant.
// First is the start of the bucket that From falls in, in the zone's own
// days (the day of a daylight saving change starts before the stretch that
// follows the change).
type Stretch struct {
	From, To, First time.Time
	Offset          time.Duration
}

// StreamStats is StatsRows for exports: q over stretches (q's own From,
// To and Offset are ignored), summed by the database and handed to fn one
// row at a time, ordered by q's dimensions and then the bucket, so that
// memory does not grow with the number of rows. SQLite sorts through
// temporary files when the rows outgrow its cache, PostgreSQL beyond
// work_mem.
func (db *DB) StreamStats(ctx context.Context, q StatsQuery, stretches []Stretch, fn func(*StatsRow) error) error {
	if err := validStatsQuery(&q); err != nil {
		return err
	}
	bucket := q.Bucket.Milliseconds()
	var (
		union []string
		args  []any
	)
	names := make([]string, len(q.Dims))
	for i := range names {
		names[i] = "d" + strconv.Itoa(i)
	}
	sums := make([]string, len(statsColumns))
	for i, c := range statsColumns {
		sums[i] = "SUM(" + c + ")"
	}
	for _, st := range stretches {
		q.Offset = st.Offset
		off := st.Offset.Milliseconds()
		for _, p := range db.statsParts(&q) {
			b := bucketSQL(p.time, off, bucket)
			// The first bucket may have started in the stretch before.
			cols := []string{fmt.Sprintf("CASE WHEN %s < %d THEN %d ELSE %s END AS b", b, toDB(st.From), toDB(st.First), b)}
			group := []string{b}
			for i, d := range q.Dims {
				e := p.ids + "." + d
				if slices.Contains(RawDims, d) {
					e = db.rawDimSQL(d)
				}
				cols, group = append(cols, e+" AS "+names[i]), append(group, e)
			}
			for i, c := range statsColumns {
				cols = append(cols, p.sums[i]+" AS "+c)
			}
			where, wargs := db.statsWhere(&q, p, st.From, st.To)
			union = append(union, "SELECT "+strings.Join(cols, ", ")+" FROM "+p.from+" WHERE "+where+
				" GROUP BY "+strings.Join(group, ", "))
			args = append(args, wargs...)
		}
	}
	if len(union) == 0 {
		return nil
	}
	order := strings.Join(append(append([]string{}, names...), "b"), ", ")
	query := "SELECT " + order + ", " + strings.Join(sums, ", ") + " FROM (" + strings.Join(union, " UNION ALL ") +
		") u GROUP BY " + order + " ORDER BY " + order
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("store: statistics: %w", err)
	}
	defer rows.Close()
	r := StatsRow{Dims: make([]string, len(q.Dims))}
	dest := make([]any, 0, len(q.Dims)+1+len(statsColumns))
	for i := range r.Dims {
		dest = append(dest, &r.Dims[i])
	}
	var at int64
	dest = append(append(dest, &at), r.ptrs()...)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("store: statistics: %w", err)
		}
		r.Bucket = fromDB(at)
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: statistics: %w", err)
	}
	return nil
}

// statsWhere is the condition of part p of q over [from, to), with its
// arguments.
func (db *DB) statsWhere(q *StatsQuery, p statsPart, from, to time.Time) (string, []any) {
	prefix := p.ids + "."
	where, args := idFilters(prefix, q.Where, []string{p.time + " >= ?", p.time + " < ?"}, []any{toDB(from), toDB(to)})
	if p.ids != "s" {
		for _, m := range q.Match {
			cond, margs := db.matchSQL(m)
			where = append(where, cond)
			args = append(args, margs...)
		}
	}
	return strings.Join(where, " AND "), args
}

// idFilters appends to where and args the conditions of filters on the
// object ids (StatsDims, in that order: the same text for the same
// filters), on columns named prefix + dimension.
func idFilters(prefix string, filters map[string][]int64, where []string, args []any) ([]string, []any) {
	for _, d := range StatsDims {
		vs, ok := filters[d]
		if !ok {
			continue
		}
		if len(vs) == 0 {
			where = append(where, "1 = 0")
			continue
		}
		where = append(where, prefix+d+" IN ("+placeholders(len(vs))+")")
		for _, v := range vs {
			args = append(args, v)
		}
	}
	return where, args
}

// CostQuery selects the clicks a manual cost is spread over.
type CostQuery struct {
	CampaignID      int64
	From, To        time.Time
	TrafficSourceID int64  // 0: any
	SubID1          string // "": any
}

// SpreadCost replaces the cost of the clicks q selects with total, spread
// evenly (the first clicks by click id take the odd micro-units), and
// moves the statistics with it. It returns how many clicks share the cost;
// none is not an error.
//
// The clicks are listed first, outside any write, then changed
// costChunk at a time, each chunk in a transaction that reads its clicks'
// costs again and moves the statistics by the difference: writes wait for
// a chunk, not for the whole range (a month of a busy campaign is half a
// million clicks). An update that fails half-way leaves part of the range
// changed, the statistics right for it; sending it again finishes it (it
// replaces costs, it does not add to them).
func (db *DB) SpreadCost(ctx context.Context, q CostQuery, total track.Money) (int, error) {
	// SQLite reads and sets the clicks' facts (one campaign's range of
	// them, in order) and sets clicks by click id; PostgreSQL has clicks.
	var f filter
	f.eq("c.campaign_id", q.CampaignID, true)
	f.cmp("c.created_at >= ?", toDB(q.From), true)
	f.cmp("c.created_at < ?", toDB(q.To), true)
	f.eq("c.traffic_source_id", q.TrafficSourceID, q.TrafficSourceID != 0)
	table := "click_facts"
	if db.engine == SQLite {
		f.eq("c.sub_id_1", q.SubID1, q.SubID1 != "")
	} else {
		table = "clicks"
		f.cmp(clickDimSQL("sub_id_1")+" = ?", q.SubID1, q.SubID1 != "")
	}
	type clickRef struct {
		id string
		at int64
	}
	var refs []clickRef
	rows, err := db.query(ctx, "SELECT c.click_id, c.created_at FROM "+table+" c"+f.sql(), f.args...)
	if err != nil {
		return 0, fmt.Errorf("store: spread cost: %w", err)
	}
	for rows.Next() {
		var r clickRef
		if err := rows.Scan(&r.id, &r.at); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: spread cost: %w", err)
		}
		refs = append(refs, r)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("store: spread cost: %w", err)
	}
	n := len(refs)
	if n == 0 {
		return 0, nil
	}
	slices.SortFunc(refs, func(a, b clickRef) int { return strings.Compare(a.id, b.id) })
	share, odd := int64(total)/int64(n), int64(total)%int64(n)
	if odd < 0 {
		share, odd = share-1, odd+int64(n)
	}
	// What moving a click's cost needs of it.
	cols, scan := "c."+strings.Join(clickColumns, ", c."), scanClick
	if db.engine == SQLite {
		cols = factDimColumns + ", c.stream_id, c.landing_id, c.click_id"
		scan = func(r scanner) (track.Click, error) {
			var (
				stream, landing int64
				id              string
			)
			c, err := scanFactDims(tailScanner{r, []any{&stream, &landing, &id}})
			c.StreamID, c.LandingID, c.ClickID = stream, landing, id
			return c, err
		}
	}
	// The clicks taking share + 1 are the first odd ones in Go's order of
	// their ids (a database may collate text otherwise).
	plus := make(map[string]bool, odd)
	for _, r := range refs[:odd] {
		plus[r.id] = true
	}
	for len(refs) > 0 {
		chunk := refs[:min(costChunk, len(refs))]
		refs = refs[len(chunk):]
		// The chunk: its time span (the facts' order) and its ids.
		from, to := chunk[0].at, chunk[0].at
		var ids, more, rest []any
		for _, r := range chunk {
			from, to = min(from, r.at), max(to, r.at)
			ids = append(ids, r.id)
			if plus[r.id] {
				more = append(more, r.id)
			} else {
				rest = append(rest, r.id)
			}
		}
		span := " WHERE c.campaign_id = ? AND c.created_at >= ? AND c.created_at <= ?"
		where := span + " AND c.click_id IN (" + placeholders(len(ids)) + ")"
		args := append([]any{q.CampaignID, from, to}, ids...)
		err := db.tx(ctx, func(tx *Tx) error {
			rs, err := tx.query(ctx, "SELECT "+cols+" FROM "+table+" c"+where, args...)
			if err != nil {
				return err
			}
			var clicks []track.Click
			for rs.Next() {
				c, err := scan(rs)
				if err != nil {
					rs.Close()
					return err
				}
				clicks = append(clicks, c)
			}
			if err := rs.Close(); err != nil {
				return err
			}
			tables := []string{"clicks"}
			if db.engine == SQLite {
				tables = append(tables, "click_facts")
			}
			for _, t := range tables {
				for _, g := range []struct {
					cost int64
					ids  []any
				}{{share + 1, more}, {share, rest}} {
					if len(g.ids) == 0 {
						continue
					}
					_, err := tx.exec(ctx, "UPDATE "+t+" AS c SET cost = ?"+span+" AND c.click_id IN ("+placeholders(len(g.ids))+")",
						append([]any{g.cost, q.CampaignID, from, to}, g.ids...)...)
					if err != nil {
						return err
					}
				}
			}
			deltas := map[StatsKey]*Stats{}
			r := db.Rollup()
			days := dayCache{r: &r}
			if tx.dims == nil {
				tx.dims = map[DimsKey]*Stats{}
			}
			for i := range clicks {
				ck := &clicks[i]
				c := share
				if plus[ck.ClickID] {
					c++
				}
				k := clickKey(ck)
				if deltas[k] == nil {
					deltas[k] = &Stats{}
				}
				d := Stats{Cost: c - int64(ck.Cost)}
				deltas[k].Add(&d)
				addDims(tx.dims, ck, days.day(ck.CreatedAt), &d)
			}
			return tx.AddStats(ctx, deltas)
		})
		if err != nil {
			return 0, fmt.Errorf("store: spread cost: %w", err)
		}
	}
	return n, nil
}

// costChunk is how many clicks one transaction of SpreadCost changes: on
// 10 M clicks a chunk of 200 holds the writer about 15 ms (2,000: 120 ms).
var costChunk = 200

// PurgeClicks deletes up to limit clicks made before before, oldest first,
// with their landing clicks, and returns how many it deleted. The hourly
// statistics, conversions and logs stay: reports by time and objects still
// cover the purged range, reports by the clicks' own values no longer.
func (db *DB) PurgeClicks(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int64
	// Clicks are stored in time order, so the oldest come first by id
	// (PostgreSQL) or click id (SQLite, whose clicks have no other key).
	key := "id"
	if db.engine == SQLite {
		key = "click_id"
	}
	oldest := func(cols string) string {
		return "SELECT " + cols + " FROM clicks WHERE created_at < ? ORDER BY " + key + " LIMIT ?"
	}
	err := db.tx(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, "DELETE FROM landing_clicks WHERE click_id IN ("+oldest("click_id")+")",
			toDB(before), limit); err != nil {
			return err
		}
		if db.engine == SQLite {
			if _, err := tx.exec(ctx, "DELETE FROM click_facts WHERE (campaign_id, created_at, click_id) IN ("+
				oldest("campaign_id, created_at, click_id")+")", toDB(before), limit); err != nil {
				return err
			}
		}
		res, err := tx.exec(ctx, "DELETE FROM clicks WHERE "+key+" IN ("+oldest(key)+")", toDB(before), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: purge clicks: %w", err)
	}
	return int(n), nil
}
