package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// RolledDims are the click values stats_daily_dims keeps, by their code
// (the index; 0 is the row of every click). They are the values with few
// distinct ones per campaign and day; the others (sub ids, city, external
// id...) are read from the raw clicks.
var RolledDims = []string{"", "country", "region", "device_type", "os", "browser", "language", "connection_type", "bot", "unique"}

// EmptyLabel is how a report names a click without a value of rolled
// dimension dim: the flags are "yes" or "no", the rest have values or "".
func EmptyLabel(dim string) string {
	if dim == "bot" || dim == "unique" {
		return "no"
	}
	return ""
}

// rolledValues returns c's value of each rolled dimension ("" for none).
func rolledValues(c *track.Click) [10]string {
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return ""
	}
	return [10]string{"", c.Country, c.Region, c.DeviceType, c.OS, c.Browser, c.Language, c.ConnectionType,
		yes(c.IsBot), yes(c.UniqueCampaign)}
}

// DimsKey is the key of a row of stats_daily_dims.
type DimsKey struct {
	Dim                                  int
	Day                                  int64 // local midnight in the rollup's zone, UTC ms
	CampaignID, TrafficSourceID, OfferID int64
	Value                                string
}

// Rollup says which zone the days of stats_daily_dims are in, and from
// which day on they are complete.
type Rollup struct {
	Zone  *time.Location
	Since time.Time // a local midnight; days from it on are complete
	// Rebuilding is the day before Since while BackfillDims rebuilds it
	// (zero otherwise): writes to it are added, on top of what the
	// backfill reads from the raw rows as they were when it started.
	Rebuilding time.Time
	// Opening identifies the backfill step that opened Rebuilding: another
	// node's step may open the same day again.
	Opening int64
}

type rollupJSON struct {
	Zone       string `json:"zone"`
	Since      int64  `json:"since"`
	Rebuilding int64  `json:"rebuilding,omitempty"`
	Opening    int64  `json:"opening,omitempty"`
}

// dayOf is the local midnight (UTC ms) of the day t is in.
func (r *Rollup) dayOf(t time.Time) int64 {
	y, m, d := t.In(r.Zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, r.Zone).UnixMilli()
}

// nextMidnight is the first local midnight at least an hour after t (the
// hour leaves other nodes time to learn of a new zone).
func (r *Rollup) nextMidnight(t time.Time) time.Time {
	y, m, d := t.Add(time.Hour).In(r.Zone).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, r.Zone)
}

// Rollup returns the current zone and completeness of the daily rollup.
func (db *DB) Rollup() Rollup {
	if r := db.rollup.Load(); r != nil {
		return *r
	}
	return Rollup{Zone: time.UTC, Since: time.UnixMilli(1 << 62)}
}

// LoadRollup reads the rollup's zone and since, which another node or a
// backfill may have changed. The configuration reload calls it.
func (db *DB) LoadRollup(ctx context.Context) error {
	r, ok, err := readRollup(db.queryRow(ctx, "SELECT value FROM settings WHERE key = 'rollup'"))
	if err != nil {
		return err
	}
	if !ok {
		return db.initRollup(ctx)
	}
	db.rollup.Store(&r)
	return nil
}

func readRollup(row scanner) (Rollup, bool, error) {
	var raw string
	if err := row.Scan(&raw); errors.Is(err, sql.ErrNoRows) {
		return Rollup{}, false, nil
	} else if err != nil {
		return Rollup{}, false, fmt.Errorf("store: read the rollup state: %w", err)
	}
	var j rollupJSON
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		return Rollup{}, false, fmt.Errorf("store: decode the rollup state: %w", err)
	}
	loc, err := time.LoadLocation(j.Zone)
	if err != nil {
		return Rollup{}, false, fmt.Errorf("store: rollup zone: %w", err)
	}
	r := Rollup{Zone: loc, Since: fromDB(j.Since)}
	if j.Rebuilding != 0 {
		r.Rebuilding, r.Opening = fromDB(j.Rebuilding), j.Opening
	}
	return r, true, nil
}

func (tx *Tx) putRollup(ctx context.Context, r Rollup) error {
	j := rollupJSON{Zone: r.Zone.String(), Since: toDB(r.Since)}
	if !r.Rebuilding.IsZero() {
		j.Rebuilding, j.Opening = toDB(r.Rebuilding), r.Opening
	}
	return tx.putKV(ctx, "settings", "key", "rollup", jsonText(j))
}

// open reports whether a delta of day is written to stats_daily_dims:
// the day is complete, or being rebuilt.
func (r *Rollup) open(day int64) bool {
	return day >= toDB(r.Since) || !r.Rebuilding.IsZero() && day == toDB(r.Rebuilding)
}

// initRollup starts the rollup in the account's zone: complete from the
// start on an empty store, else from the next midnight, the days before
// being left to BackfillDims.
func (db *DB) initRollup(ctx context.Context) error {
	// The account's zone, without the secrets Settings also reads (Init
	// makes them after Migrate).
	s, err := db.accountSettings(ctx)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		loc = time.UTC
	}
	var r Rollup
	err = db.tx(ctx, func(tx *Tx) error {
		cur, ok, err := readRollup(tx.queryRow(ctx, "SELECT value FROM settings WHERE key = 'rollup'"))
		if err != nil || ok {
			r = cur
			return err
		}
		r = Rollup{Zone: loc, Since: time.UnixMilli(0).UTC()}
		any, err := tx.exists(ctx, "SELECT 1 FROM clicks LIMIT 1")
		if err != nil {
			return err
		}
		if any {
			r.Since = r.nextMidnight(now())
		}
		return tx.putRollup(ctx, r)
	})
	if err != nil {
		return err
	}
	db.rollup.Store(&r)
	return nil
}

// setRollupZone moves the rollup to zone from the next midnight on (the
// days before are rebuilt by BackfillDims), in tx; apply runs after the
// commit.
func (tx *Tx) setRollupZone(ctx context.Context, zone string) (apply func(), err error) {
	cur := tx.db.Rollup()
	if cur.Zone.String() == zone {
		return func() {}, nil
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("store: rollup zone: %w", err)
	}
	r := Rollup{Zone: loc}
	r.Since = r.nextMidnight(now())
	if err := tx.putRollup(ctx, r); err != nil {
		return nil, err
	}
	return func() { tx.db.rollup.Store(&r) }, nil
}

// dayCache remembers the last day a time fell in: a batch of clicks is
// nearly always in one day, and the zone lookup costs more than the row.
type dayCache struct {
	r        *Rollup
	from, to int64
}

func (c *dayCache) day(t time.Time) int64 {
	ms := toDB(t)
	if ms >= c.from && ms < c.to {
		return c.from
	}
	c.from = c.r.dayOf(t)
	y, m, d := time.UnixMilli(c.from).In(c.r.Zone).Date()
	c.to = time.Date(y, m, d+1, 0, 0, 0, 0, c.r.Zone).UnixMilli()
	return c.from
}

// addDims adds s to the rows of click c's day and values in m.
func addDims(m map[DimsKey]*Stats, c *track.Click, day int64, s *Stats) {
	vals := rolledValues(c)
	for dim, v := range vals {
		if dim > 0 && v == "" {
			continue
		}
		k := DimsKey{dim, day, c.CampaignID, c.TrafficSourceID, c.OfferID, v}
		if m[k] == nil {
			m[k] = &Stats{}
		}
		m[k].Add(s)
	}
}

// clickStat is what one click counts for.
func clickStat(c *track.Click) Stats {
	return Stats{Clicks: 1, UniqueCampaign: b2i(c.UniqueCampaign), UniqueStream: b2i(c.UniqueStream),
		UniqueGlobal: b2i(c.UniqueGlobal), Bots: b2i(c.IsBot), Cost: int64(c.Cost)}
}

// clickDims sums clicks by their rows of stats_daily_dims.
func clickDims(r *Rollup, clicks []track.Click) map[DimsKey]*Stats {
	out := map[DimsKey]*Stats{}
	dc := dayCache{r: r}
	for i := range clicks {
		s := clickStat(&clicks[i])
		addDims(out, &clicks[i], dc.day(clicks[i].CreatedAt), &s)
	}
	return out
}

var dimsKeyColumns = []string{"dim", "day", "campaign_id", "traffic_source_id", "offer_id", "value"}

var addDimsSQL = addSQL("stats_daily_dims", dimsKeyColumns)

// dimsNow returns the rollup as the store has it now, in tx: the
// in-memory one may be a backfill step behind (its since only moves back,
// until the zone changes).
func (tx *Tx) dimsNow(ctx context.Context) (Rollup, error) {
	return rollupNow(tx.queryRow(ctx, tx.db.rollupForShare()))
}

// rollupForShare reads the rollup state; on PostgreSQL it waits for a
// backfill step, which holds it FOR UPDATE.
func (db *DB) rollupForShare() string {
	if db.engine == Postgres {
		return "SELECT value FROM settings WHERE key = 'rollup' FOR SHARE"
	}
	return "SELECT value FROM settings WHERE key = 'rollup'"
}

func rollupNow(row scanner) (Rollup, error) {
	r, ok, err := readRollup(row)
	if err != nil || !ok {
		return Rollup{Zone: time.UTC, Since: time.UnixMilli(1 << 62)}, err
	}
	return r, nil
}

// AddDims adds deltas to their rows of stats_daily_dims. Rows of days the
// backfill has not reached are left out: it counts them from the raw rows.
func (tx *Tx) AddDims(ctx context.Context, deltas map[DimsKey]*Stats) error {
	return applyDims(deltas, tx.db.Rollup(), func() (Rollup, error) { return tx.dimsNow(ctx) },
		func(k *DimsKey, s *Stats) error {
			_, err := tx.execPrepared(ctx, addDimsSQL, append(k.values(), s.values()...)...)
			return err
		})
}

// addClickDims is AddDims of deltas that only clicks made.
func (tx *Tx) addClickDims(ctx context.Context, deltas map[DimsKey]*Stats) error {
	rows := make([][]any, 0, len(deltas))
	err := applyDims(deltas, tx.db.Rollup(), func() (Rollup, error) { return tx.dimsNow(ctx) },
		func(k *DimsKey, s *Stats) error {
			rows = append(rows, s.appendClickValues(k.values()))
			return nil
		})
	if err != nil {
		return err
	}
	if err := tx.upsert(ctx, addClickDimsSQL, rows); err != nil {
		return fmt.Errorf("store: add to the daily statistics: %w", err)
	}
	return nil
}

// values are k's values for dimsKeyColumns.
func (k *DimsKey) values() []any {
	return append(make([]any, 0, len(dimsKeyColumns)+len(statsColumns)), k.Dim, k.Day, k.CampaignID, k.TrafficSourceID,
		k.OfferID, k.Value)
}

// applyDims writes each delta whose day is complete or being rebuilt in
// the rollup with exec; now reads the store's rollup when a delta is
// older than r's since.
func applyDims(deltas map[DimsKey]*Stats, r Rollup, now func() (Rollup, error), exec func(*DimsKey, *Stats) error) error {
	var stored *Rollup
	for k, s := range deltas {
		if k.Day < toDB(r.Since) {
			// Only the store says whether that day is being rebuilt.
			if stored == nil {
				n, err := now()
				if err != nil {
					return err
				}
				stored = &n
			}
			if !stored.open(k.Day) {
				continue
			}
		}
		if err := exec(&k, s); err != nil {
			return fmt.Errorf("store: add to the daily statistics: %w", err)
		}
	}
	return nil
}

// dimsDelta adds s, counted by click c, to the deltas tx writes before it
// commits.
func (tx *Tx) dimsDelta(c *track.Click, s *Stats) {
	if tx.dims == nil {
		tx.dims = map[DimsKey]*Stats{}
	}
	r := tx.db.Rollup()
	addDims(tx.dims, c, r.dayOf(c.CreatedAt), s)
}

// DimsEligible reports whether DimsRows can answer q over [from, to) in
// loc: whole local days of the rollup's zone, all complete, grouped by
// campaign, traffic source, offer and at most one rolled value (Dims may
// list it or Match may test it, not two different ones), no hours, no
// conversion time.
func (db *DB) DimsEligible(q *StatsQuery, loc *time.Location) bool {
	r := db.Rollup()
	if loc.String() != r.Zone.String() || q.Bucket != 24*time.Hour || q.ByConversionTime ||
		q.From.Before(r.Since) || r.dayOf(q.From) != toDB(q.From) || r.dayOf(q.To) != toDB(q.To) {
		return false
	}
	_, ok := dimsOf(q)
	return ok
}

// dimsOf is the rolled dimension q needs (0: none), and whether q's other
// dimensions and filters are all in stats_daily_dims.
func dimsOf(q *StatsQuery) (int, bool) {
	dim := 0
	use := func(d string) bool {
		i := slices.Index(RolledDims, d)
		if i <= 0 || (dim != 0 && dim != i) {
			return false
		}
		dim = i
		return true
	}
	for _, d := range q.Dims {
		if d != "campaign_id" && d != "traffic_source_id" && d != "offer_id" && !use(d) {
			return 0, false
		}
	}
	for d := range q.Where {
		if d != "campaign_id" && d != "traffic_source_id" && d != "offer_id" {
			return 0, false
		}
	}
	for _, m := range q.Match {
		if !use(m.Dim) {
			return 0, false
		}
	}
	return dim, true
}

// DimsRows is StatsRows over stats_daily_dims for a query DimsEligible
// accepts: one row per local day (when byDay) and dimension values. The
// empty value of the rolled dimension is what the day's clicks have left
// once those with a value are taken out.
func (db *DB) DimsRows(ctx context.Context, q StatsQuery, byDay bool, match func(DimMatch, string) bool) ([]StatsRow, error) {
	if err := validStatsQuery(&q); err != nil {
		return nil, err
	}
	dim, ok := dimsOf(&q)
	if !ok {
		return nil, fmt.Errorf("store: the daily rollup cannot answer this query")
	}
	var group []string
	if byDay {
		group = append(group, "day")
	}
	nIDs := 0 // the object dimensions, grouped after the day
	for _, d := range q.Dims {
		if !slices.Contains(RolledDims, d) {
			group = append(group, d)
			nIDs++
		}
	}
	where, args := idFilters("", q.Where, []string{"dim IN (0, ?)", "day >= ?", "day < ?"}, []any{dim, toDB(q.From), toDB(q.To)})
	sumCols := make([]string, len(statsColumns))
	for i, c := range statsColumns {
		sumCols[i] = "SUM(" + c + ")"
	}
	cols := append(append([]string{}, group...), "dim", "value")
	query := "SELECT " + strings.Join(cols, ", ") + ", " + strings.Join(sumCols, ", ") + " FROM stats_daily_dims WHERE " +
		strings.Join(where, " AND ") + " GROUP BY " + strings.Join(cols, ", ")
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: daily statistics: %w", err)
	}
	defer rows.Close()
	type sums struct {
		all, valued Stats
		row         StatsRow // the template of the empty value's row
	}
	pass := func(v string) bool {
		for _, m := range q.Match {
			if !match(m, v) {
				return false
			}
		}
		return true
	}
	var out []StatsRow
	groups := map[string]*sums{}
	var order []string
	for rows.Next() {
		var (
			day  int64
			ids  = make([]int64, nIDs)
			d    int
			val  string
			st   Stats
			dest []any
		)
		if byDay {
			dest = append(dest, &day)
		}
		for i := range ids {
			dest = append(dest, &ids[i])
		}
		dest = append(append(dest, &d, &val), st.ptrs()...)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: daily statistics: %w", err)
		}
		r := StatsRow{Bucket: q.From, Dims: make([]string, len(q.Dims)), Stats: st}
		if byDay {
			r.Bucket = fromDB(day)
		}
		n := 0
		for i, name := range q.Dims {
			if slices.Contains(RolledDims, name) {
				r.Dims[i] = val
				continue
			}
			r.Dims[i] = strconv.FormatInt(ids[n], 10)
			n++
		}
		key := strconv.FormatInt(day, 10) + "\x00" + fmt.Sprint(ids)
		g := groups[key]
		if g == nil {
			g = &sums{row: r}
			g.row.Dims = slices.Clone(r.Dims)
			groups[key] = g
			order = append(order, key)
		}
		if d == 0 {
			g.all.Add(&st)
			continue
		}
		g.valued.Add(&st)
		if pass(val) {
			out = append(out, r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: daily statistics: %w", err)
	}
	empty := EmptyLabel(RolledDims[dim])
	if dim == 0 || !pass(empty) {
		// No rolled dimension: the dim 0 rows are the answer.
		if dim == 0 {
			for _, k := range order {
				g := groups[k]
				g.row.Stats = g.all
				out = append(out, g.row)
			}
		}
		return out, nil
	}
	for _, k := range order {
		g := groups[k]
		rest := g.all
		neg := g.valued.values()
		for i, p := range rest.ptrs() {
			*p.(*int64) -= neg[i].(int64)
		}
		if rest == (Stats{}) {
			continue
		}
		g.row.Stats = rest
		for i, name := range q.Dims {
			if slices.Contains(RolledDims, name) {
				g.row.Dims[i] = empty
			}
		}
		out = append(out, g.row)
	}
	return out, nil
}

// BackfillDims fills one more day of stats_daily_dims from the raw rows:
// the day before the rollup's since, which then moves back to it. It
// reports done when since is at or before the day of the oldest click (or
// there are no clicks).
//
// Nothing is counted twice or missed, and writes wait only for two short
// transactions, not for the reading of the day's rows (seconds): the first
// transaction empties the day and opens it to writes (Rollup.Rebuilding),
// and begins a read transaction while it holds the write lock (SQLite) or
// the rollup's row (PostgreSQL, which every write touching an older day
// reads FOR SHARE), so that the read sees every write before the day was
// opened and none after; the day's raw rows are then read and summed
// outside any lock, and a second transaction adds the sums to what writes
// added meanwhile and moves since back to the day. A failure in between
// leaves the day open; the next step empties it and starts over.
//
// run runs the reading of the day (no lock held), nil for at once: the
// server gives it to a low-priority thread, so that it takes what CPU the
// click path leaves.
func (db *DB) BackfillDims(ctx context.Context, run func(func())) (done bool, err error) {
	var (
		start Rollup // the rollup the first transaction found
		day   time.Time
		snap  *sql.Tx // the raw rows as of the first transaction
		next  Rollup  // what the rollup became
	)
	defer func() {
		if snap != nil {
			snap.Rollback()
		}
		if err == nil && next.Zone != nil {
			// Unless the zone moved meanwhile (then the next step starts over).
			if cur := db.Rollup(); cur.Zone.String() == next.Zone.String() {
				db.rollup.Store(&next)
			}
		}
	}()
	err = db.tx(ctx, func(tx *Tx) error {
		r, ok, err := readRollup(tx.queryRow(ctx, db.rollupForUpdate()))
		if err != nil || !ok {
			done = true
			return err
		}
		var oldest int64
		err = tx.queryRow(ctx, "SELECT created_at FROM clicks ORDER BY click_id LIMIT 1").Scan(&oldest)
		if errors.Is(err, sql.ErrNoRows) || err == nil && oldest >= toDB(r.Since) {
			// Nothing older to count. Unless clicks were purged (the hourly
			// rollup has older hours), the days before are complete: empty.
			done = true
			if toDB(r.Since) <= 0 {
				return nil
			}
			purged, err := tx.exists(ctx, "SELECT 1 FROM stats_hourly WHERE hour < ? LIMIT 1", toDB(r.Since))
			if err != nil || purged {
				return err
			}
			// Rows before since are another zone's: gone with the clicks.
			if _, err := tx.exec(ctx, "DELETE FROM stats_daily_dims WHERE day < ?", toDB(r.Since)); err != nil {
				return err
			}
			next = Rollup{Zone: r.Zone, Since: time.UnixMilli(0).UTC()}
			return tx.putRollup(ctx, next)
		}
		if err != nil {
			return err
		}
		y, m, d := r.Since.In(r.Zone).Date()
		start, day = r, time.Date(y, m, d-1, 0, 0, 0, 0, r.Zone)
		if snap, err = db.snapshot(ctx); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DELETE FROM stats_daily_dims WHERE day >= ? AND day < ?", toDB(day), toDB(r.Since)); err != nil {
			return err
		}
		r.Rebuilding, r.Opening = day, rand.Int64()
		start = r
		return tx.putRollup(ctx, r)
	})
	if err != nil || done {
		if err != nil {
			err = fmt.Errorf("store: backfill the daily statistics: %w", err)
		}
		return done, err
	}
	backfillOpened(day)
	if run == nil {
		run = func(f func()) { f() }
	}
	var deltas map[DimsKey]*Stats
	run(func() { deltas, err = (&Tx{db: db, tx: snap}).rawDims(ctx, &start, toDB(day), toDB(start.Since)) })
	snap.Rollback()
	snap = nil
	if err != nil {
		return false, fmt.Errorf("store: backfill the daily statistics: %w", err)
	}
	// The sums go in a few thousand rows per transaction (a day has tens
	// of thousands), added to what writes added since the day was opened;
	// the last one closes the day.
	keys := make([]DimsKey, 0, len(deltas))
	for k := range deltas {
		keys = append(keys, k)
	}
	closed := Rollup{Zone: start.Zone, Since: day}
	for len(keys) > 0 || next.Zone == nil {
		n := min(len(keys), backfillRowsPerTx)
		moved := false
		err = db.tx(ctx, func(tx *Tx) error {
			r, ok, err := readRollup(tx.queryRow(ctx, db.rollupForUpdate()))
			if err != nil || !ok || r.Zone.String() != start.Zone.String() || !r.Since.Equal(start.Since) ||
				!r.Rebuilding.Equal(day) || r.Opening != start.Opening {
				moved = true
				return err // moved meanwhile: the next step starts over
			}
			for _, k := range keys[:n] {
				args := append([]any{k.Dim, k.Day, k.CampaignID, k.TrafficSourceID, k.OfferID, k.Value}, deltas[k].values()...)
				if _, err := tx.execPrepared(ctx, addDimsSQL, args...); err != nil {
					return fmt.Errorf("store: add to the daily statistics: %w", err)
				}
			}
			if n < len(keys) {
				return nil
			}
			next = closed
			return tx.putRollup(ctx, closed)
		})
		if err != nil {
			next = Rollup{}
			return false, fmt.Errorf("store: backfill the daily statistics: %w", err)
		}
		if moved {
			return false, nil
		}
		keys = keys[n:]
	}
	return false, nil
}

// backfillRowsPerTx bounds the rows of the daily rollup one transaction
// of BackfillDims writes, and so how long writes wait for it.
var backfillRowsPerTx = 2000

// backfillOpened runs when BackfillDims has opened day to writes, before it
// reads the day's raw rows: tests write there.
var backfillOpened = func(day time.Time) {}

// rollupForUpdate reads the rollup state to change it; on PostgreSQL it
// holds the row, for which writes to older days wait (rollupForShare).
func (db *DB) rollupForUpdate() string {
	if db.engine == Postgres {
		return "SELECT value FROM settings WHERE key = 'rollup' FOR UPDATE"
	}
	return "SELECT value FROM settings WHERE key = 'rollup'"
}

// snapshot begins a read transaction and makes it take its snapshot of
// the store now.
func (db *DB) snapshot(ctx context.Context) (*sql.Tx, error) {
	opts := &sql.TxOptions{}
	if db.engine == Postgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := db.read.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM settings").Scan(&n); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// rawDims sums the clicks made in [from, to), their landing clicks and
// conversions by their rows of stats_daily_dims.
func (tx *Tx) rawDims(ctx context.Context, r *Rollup, from, to int64) (map[DimsKey]*Stats, error) {
	// The campaigns with clicks then, so that the clicks are read through
	// their (campaign_id, created_at) index.
	var campaigns []string
	rows, err := tx.query(ctx, "SELECT DISTINCT campaign_id FROM stats_hourly WHERE hour >= ? AND hour < ?",
		from/3_600_000*3_600_000, to)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		campaigns = append(campaigns, strconv.FormatInt(id, 10))
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	out := map[DimsKey]*Stats{}
	if len(campaigns) == 0 {
		return out, nil
	}
	in := " IN (" + strings.Join(campaigns, ", ") + ")"
	where := " WHERE c.campaign_id" + in + " AND c.created_at >= ? AND c.created_at < ?"
	dc := dayCache{r: r}
	// What a row of the day's clicks, landing clicks or conversions
	// counts for, by the click's values.
	type part struct {
		from, extra string
		stat        func(*track.Click, *track.Conversion) Stats
	}
	parts := []part{
		{"FROM %s" + where, "'', 0, 0", func(c *track.Click, _ *track.Conversion) Stats { return clickStat(c) }},
		{"FROM %s JOIN landing_clicks l ON l.click_id = c.click_id" + where, "'', 0, 0",
			func(*track.Click, *track.Conversion) Stats { return Stats{LPClicks: 1} }},
		{"FROM %s JOIN conversions v ON v.click_id = c.click_id" + where, "v.status, v.payout, v.cost",
			func(_ *track.Click, v *track.Conversion) Stats { return conversionStats(v) }},
	}
	// SQLite reads click_facts (a campaign's range is sequential there),
	// PostgreSQL clicks.
	cols := "c." + strings.Join(clickColumns, ", c.")
	table, scan := "clicks c", scanClick
	if tx.db.engine == SQLite {
		cols, table, scan = factDimColumns, "click_facts c", scanFactDims
	}
	if tx.db.engine == SQLite {
		// From the conversions of the day's clicks rather than a lookup
		// per click.
		parts[1].from = "FROM %s CROSS JOIN landing_clicks l ON l.click_id = c.click_id" + where
		parts[2].from = "FROM conversions v CROSS JOIN %s ON c.campaign_id = v.campaign_id AND c.created_at = v.click_time " +
			"AND c.click_id = v.click_id WHERE v.campaign_id" + in + " AND v.click_time >= ? AND v.click_time < ?"
	}
	for _, p := range parts {
		rows, err := tx.query(ctx, "SELECT "+cols+", "+p.extra+" "+fmt.Sprintf(p.from, table), from, to)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var v track.Conversion
			c, err := scan(tailScanner{rows, []any{&v.Status, &v.Payout, &v.Cost}})
			if err != nil {
				rows.Close()
				return nil, err
			}
			s := p.stat(&c, &v)
			addDims(out, &c, dc.day(c.CreatedAt), &s)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// factDimColumns are the columns of click_facts c that scanFactDims reads:
// what the daily rollup by value needs of a click.
const factDimColumns = "c.created_at, c.campaign_id, c.traffic_source_id, c.offer_id, c.cost, c.is_bot, c.unique_campaign, " +
	"c.unique_stream, c.unique_global, COALESCE(c.country, ''), COALESCE(c.region, ''), COALESCE(c.device_type, ''), " +
	"COALESCE(c.os, ''), COALESCE(c.browser, ''), COALESCE(c.language, ''), COALESCE(c.connection_type, '')"

func scanFactDims(r scanner) (track.Click, error) {
	var (
		c  track.Click
		at int64
	)
	err := r.Scan(&at, &c.CampaignID, &c.TrafficSourceID, &c.OfferID, &c.Cost, &c.IsBot, &c.UniqueCampaign,
		&c.UniqueStream, &c.UniqueGlobal, &c.Country, &c.Region, &c.DeviceType, &c.OS, &c.Browser, &c.Language,
		&c.ConnectionType)
	c.CreatedAt = fromDB(at)
	return c, err
}

// tailScanner scans the rest of a row into tail after what the scanner it
// wraps asks for.
type tailScanner struct {
	r    scanner
	tail []any
}

func (s tailScanner) Scan(dest ...any) error { return s.r.Scan(append(dest, s.tail...)...) }
