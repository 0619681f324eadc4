package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// Update runs fn in one write transaction: all of it or none.
func (db *DB) Update(ctx context.Context, fn func(*Tx) error) error { return db.tx(ctx, fn) }

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// idsPerQuery is how many ids one "IN (...)" of queryIDs takes.
const idsPerQuery = 32

// queryIDs runs query, whose "IN (%s)" takes ids, with each of its rows:
// in chunks of idsPerQuery ids, the last one padded with "" (no id is
// empty), so that it is always the same prepared statement.
func (tx *Tx) queryIDs(ctx context.Context, query string, ids []string, row func(*sql.Rows) error) error {
	stmt, err := tx.stmt(ctx, fmt.Sprintf(query, placeholders(idsPerQuery)))
	if err != nil {
		return err
	}
	args := make([]any, idsPerQuery)
	for len(ids) > 0 {
		n := min(len(ids), idsPerQuery)
		for i := range args {
			args[i] = ""
			if i < n {
				args[i] = ids[i]
			}
		}
		ids = ids[n:]
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := row(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// ClicksByID returns the clicks with these (distinct) click ids that exist.
func (tx *Tx) ClicksByID(ctx context.Context, ids []string) (map[string]track.Click, error) {
	out := make(map[string]track.Click, len(ids))
	err := tx.queryIDs(ctx, selectClickSQL+" WHERE k.click_id IN (%s)", ids, func(rows *sql.Rows) error {
		c, err := scanClick(rows)
		out[c.ClickID] = c
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: read clicks: %w", err)
	}
	return out, nil
}

const conversionColumns = "id, click_id, tid, status, previous_status, raw_status, event, upsell, payout, original_payout, cost, " +
	"original_currency, rate, click_time, campaign_id, stream_id, offer_id, landing_id, traffic_source_id, " +
	"affiliate_network_id, created_at, updated_at"

func scanConversion(r scanner) (track.Conversion, error) {
	var (
		c                       track.Conversion
		clickT, created, update int64
	)
	err := r.Scan(&c.ID, &c.ClickID, &c.TID, &c.Status, &c.PreviousStatus, &c.RawStatus, &c.Event, &c.Upsell,
		&c.Payout, &c.OriginalPayout, &c.Cost, &c.OriginalCurrency, &c.Rate, &clickT, &c.CampaignID, &c.StreamID, &c.OfferID,
		&c.LandingID, &c.TrafficSourceID, &c.AffiliateNetworkID, &created, &update)
	c.ClickTime, c.CreatedAt, c.UpdatedAt = fromDB(clickT), fromDB(created), fromDB(update)
	return c, err
}

// ConversionsOfClicks returns the conversions of these (distinct) clicks, oldest first
// for each click. On PostgreSQL the rows are locked until the transaction
// ends, so that two nodes deciding about one click take turns.
func (tx *Tx) ConversionsOfClicks(ctx context.Context, ids []string) (map[string][]track.Conversion, error) {
	out := make(map[string][]track.Conversion, len(ids))
	q := "SELECT " + conversionColumns + " FROM conversions WHERE click_id IN (%s) ORDER BY id"
	if tx.db.engine == Postgres {
		q += " FOR UPDATE"
	}
	err := tx.queryIDs(ctx, q, ids, func(rows *sql.Rows) error {
		c, err := scanConversion(rows)
		out[c.ClickID] = append(out[c.ClickID], c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: read conversions: %w", err)
	}
	return out, nil
}

const insertConversionSQL = `INSERT INTO conversions (click_id, tid, status, previous_status, raw_status, event, upsell,
	payout, original_payout, original_currency, rate, click_time, campaign_id, stream_id, offer_id, landing_id,
	traffic_source_id, affiliate_network_id, created_at, updated_at, cost)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (click_id, tid) DO NOTHING RETURNING id`

// InsertConversion inserts c and sets its id. It reports false, and writes
// nothing, when a conversion with the same click id and tid exists (another
// node got there first).
func (tx *Tx) InsertConversion(ctx context.Context, c *track.Conversion) (bool, error) {
	stmt, err := tx.stmt(ctx, insertConversionSQL)
	if err != nil {
		return false, fmt.Errorf("store: insert conversion: %w", err)
	}
	rows, err := stmt.QueryContext(ctx,
		c.ClickID, c.TID, string(c.Status), string(c.PreviousStatus), c.RawStatus, c.Event, c.Upsell, int64(c.Payout),
		int64(c.OriginalPayout), c.OriginalCurrency, int64(c.Rate), toDB(c.ClickTime), c.CampaignID, c.StreamID,
		c.OfferID, c.LandingID, c.TrafficSourceID, c.AffiliateNetworkID, toDB(c.CreatedAt), toDB(c.UpdatedAt), int64(c.Cost))
	if err != nil {
		return false, fmt.Errorf("store: insert conversion: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	if err := rows.Scan(&c.ID); err != nil {
		return false, fmt.Errorf("store: insert conversion: %w", err)
	}
	return true, rows.Close()
}

// UpdateConversion saves c over the conversion with its id if that still
// has status and tid from: it reports false, and writes nothing, when
// someone changed it in between.
func (tx *Tx) UpdateConversion(ctx context.Context, c *track.Conversion, from track.Conversion) (bool, error) {
	res, err := tx.execPrepared(ctx, `UPDATE conversions SET tid = ?, status = ?, previous_status = ?, raw_status = ?, event = ?,
		payout = ?, original_payout = ?, original_currency = ?, rate = ?, updated_at = ?, cost = ?
		WHERE id = ? AND status = ? AND tid = ? AND payout = ?`,
		c.TID, string(c.Status), string(c.PreviousStatus), c.RawStatus, c.Event, int64(c.Payout), int64(c.OriginalPayout),
		c.OriginalCurrency, int64(c.Rate), toDB(c.UpdatedAt), int64(c.Cost), c.ID, string(from.Status), from.TID, int64(from.Payout))
	if err != nil {
		return false, fmt.Errorf("store: update conversion %d: %w", c.ID, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SetClickSubIDs replaces sub ids of c (index 0 is sub_id_1) and saves
// its details.
func (tx *Tx) SetClickSubIDs(ctx context.Context, c *track.Click, subs map[int]string) error {
	for i, v := range subs {
		if i >= 0 && i < len(c.SubIDs) {
			c.SubIDs[i] = v
		}
	}
	args, _ := clickValues(c, nil, nil)
	if _, err := tx.exec(ctx, "UPDATE clicks SET details = ? WHERE click_id = ?", args[len(args)-1], c.ClickID); err != nil {
		return fmt.Errorf("store: update click %s: %w", c.ClickID, err)
	}
	if tx.db.engine != SQLite {
		return nil
	}
	var set []string
	vals := []any{}
	for i, v := range subs {
		if i >= 0 && i < len(c.SubIDs) {
			set = append(set, fmt.Sprintf("sub_id_%d = ?", i+1))
			vals = append(vals, orNull(track.CleanText(v)))
		}
	}
	if len(set) == 0 {
		return nil
	}
	vals = append(vals, c.CampaignID, toDB(c.CreatedAt), c.ClickID)
	if _, err := tx.exec(ctx, "UPDATE click_facts SET "+strings.Join(set, ", ")+
		" WHERE campaign_id = ? AND created_at = ? AND click_id = ?", vals...); err != nil {
		return fmt.Errorf("store: update click %s: %w", c.ClickID, err)
	}
	return nil
}

const postbackLogColumns = "id, received_at, method, source_ip, click_id, request, auth, outcome, reason, http_status, " +
	"conversion_id, affiliate_network_id"

func scanPostbackLog(r scanner) (track.PostbackLogEntry, error) {
	var (
		e  track.PostbackLogEntry
		at int64
	)
	err := r.Scan(&e.ID, &at, &e.Method, &e.SourceIP, &e.ClickID, &e.Request, &e.Auth, &e.Outcome, &e.Reason,
		&e.HTTPStatus, &e.ConversionID, &e.AffiliateNetworkID)
	e.ReceivedAt = fromDB(at)
	return e, err
}

// LogPostback writes e (a new entry when its id is 0, else over the entry
// with its id) and sets its id.
func (tx *Tx) LogPostback(ctx context.Context, e *track.PostbackLogEntry) error {
	if e.ID != 0 {
		_, err := tx.execPrepared(ctx, `UPDATE postback_log SET outcome = ?, reason = ?, http_status = ?, conversion_id = ?,
			affiliate_network_id = ? WHERE id = ?`,
			string(e.Outcome), e.Reason, e.HTTPStatus, e.ConversionID, e.AffiliateNetworkID, e.ID)
		if err != nil {
			return fmt.Errorf("store: update postback log %d: %w", e.ID, err)
		}
		return nil
	}
	id, err := tx.insertPrepared(ctx, `INSERT INTO postback_log (received_at, method, source_ip, click_id, request, auth, outcome,
		reason, http_status, conversion_id, affiliate_network_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		toDB(e.ReceivedAt), e.Method, e.SourceIP, e.ClickID, e.Request, e.Auth, string(e.Outcome), e.Reason, e.HTTPStatus,
		e.ConversionID, e.AffiliateNetworkID)
	if err != nil {
		return fmt.Errorf("store: log postback: %w", err)
	}
	e.ID = id
	return nil
}

// ConversionQuery filters Conversions; zero fields do not filter.
type ConversionQuery struct {
	ClickID    string
	CampaignID int64
	OfferID    int64
	Status     track.Status
	From, To   time.Time // conversion time, [From, To)
	Before     int64     // pages back: ids lower than this
	Limit      int
}

// Conversions returns conversions newest first.
func (db *DB) Conversions(ctx context.Context, q ConversionQuery) ([]track.Conversion, error) {
	var f filter
	f.eq("click_id", q.ClickID, q.ClickID != "")
	f.eq("campaign_id", q.CampaignID, q.CampaignID != 0)
	f.eq("offer_id", q.OfferID, q.OfferID != 0)
	f.eq("status", string(q.Status), q.Status != "")
	f.cmp("created_at >= ?", toDB(q.From), !q.From.IsZero())
	f.cmp("created_at < ?", toDB(q.To), !q.To.IsZero())
	f.cmp("id < ?", q.Before, q.Before != 0)
	out, err := list(ctx, db, scanConversion, "SELECT "+conversionColumns+" FROM conversions"+f.sql()+
		" ORDER BY id DESC LIMIT "+strconv.Itoa(limit(q.Limit)), f.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list conversions: %w", err)
	}
	return out, nil
}

// Conversion returns one conversion.
func (db *DB) Conversion(ctx context.Context, id int64) (track.Conversion, error) {
	c, err := scanConversion(db.queryRow(ctx, "SELECT "+conversionColumns+" FROM conversions WHERE id = ?", id))
	return c, notFoundIfNoRows(err, "conversion", id)
}

// PostbackQuery filters PostbackLog; zero fields do not filter.
type PostbackQuery struct {
	ClickID  string
	Outcome  track.Outcome
	From, To time.Time
	Before   int64
	Limit    int
}

// PostbackLog returns log entries newest first.
func (db *DB) PostbackLog(ctx context.Context, q PostbackQuery) ([]track.PostbackLogEntry, error) {
	var f filter
	f.eq("click_id", q.ClickID, q.ClickID != "")
	f.eq("outcome", string(q.Outcome), q.Outcome != "")
	f.cmp("received_at >= ?", toDB(q.From), !q.From.IsZero())
	f.cmp("received_at < ?", toDB(q.To), !q.To.IsZero())
	f.cmp("id < ?", q.Before, q.Before != 0)
	out, err := list(ctx, db, scanPostbackLog, "SELECT "+postbackLogColumns+" FROM postback_log"+f.sql()+
		" ORDER BY id DESC LIMIT "+strconv.Itoa(limit(q.Limit)), f.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list postback log: %w", err)
	}
	return out, nil
}

// PostbackLogEntry returns one entry of the postback log.
func (db *DB) PostbackLogEntry(ctx context.Context, id int64) (track.PostbackLogEntry, error) {
	e, err := scanPostbackLog(db.queryRow(ctx, "SELECT "+postbackLogColumns+" FROM postback_log WHERE id = ?", id))
	return e, notFoundIfNoRows(err, "postback", id)
}

// filter builds a WHERE clause.
type filter struct {
	where []string
	args  []any
}

func (f *filter) eq(col string, v any, on bool) { f.cmp(col+" = ?", v, on) }

func (f *filter) cmp(cond string, v any, on bool) {
	if on {
		f.where, f.args = append(f.where, cond), append(f.args, v)
	}
}

func (f *filter) sql() string {
	if len(f.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(f.where, " AND ")
}

func limit(n int) int {
	if n <= 0 || n > 1000 {
		return 100
	}
	return n
}
