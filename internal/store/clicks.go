package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trackd/trackd/internal/track"
)

// clickColumns are the columns InsertClicks writes, in the order of
// clickValues; the rest of a click is in details (see clickdetails.go).
var clickColumns = []string{"click_id", "created_at", "campaign_id", "stream_id", "offer_id", "landing_id",
	"traffic_source_id", "external_id", "cost", "country", "device_type", "os", "browser", "is_bot",
	"unique_campaign", "unique_stream", "unique_global", "details"}

// clickValues appends c's values for clickColumns to dst. Text from the
// visitor is cleaned so that both engines store the same thing; buf is
// scratch space for the details JSON.
func clickValues(c *track.Click, dst []any, buf []byte) ([]any, []byte) {
	cl := cleanClick(c)
	return cleanClickValues(&cl, dst, buf)
}

// cleanClickValues is clickValues of a click whose text is clean.
func cleanClickValues(cl *track.Click, dst []any, buf []byte) ([]any, []byte) {
	buf = appendDetails(buf[:0], cl)
	return append(dst, cl.ClickID, toDB(cl.CreatedAt), cl.CampaignID, cl.StreamID, cl.OfferID, cl.LandingID, cl.TrafficSourceID,
		cl.ExternalID, int64(cl.Cost), cl.Country, cl.DeviceType, cl.OS, cl.Browser, cl.IsBot,
		cl.UniqueCampaign, cl.UniqueStream, cl.UniqueGlobal, string(buf)), buf
}

// InsertClicks writes a batch of clicks in one transaction: all or none.
// On PostgreSQL it uses COPY.
func (db *DB) InsertClicks(ctx context.Context, clicks []track.Click) error {
	if len(clicks) == 0 {
		return nil
	}
	if db.engine == Postgres {
		return db.copyClicks(ctx, clicks)
	}
	stats := clickStats(clicks)
	r := db.Rollup()
	dims := clickDims(&r, clicks)
	clean := make([]track.Click, len(clicks))
	for i := range clicks {
		clean[i] = cleanClick(&clicks[i])
	}
	return db.tx(ctx, func(tx *Tx) error {
		full, err := tx.stmt(ctx, insertClicksFull)
		if err != nil {
			return fmt.Errorf("store: prepare click insert: %w", err)
		}
		one, err := tx.stmt(ctx, insertClickOne)
		if err != nil {
			return fmt.Errorf("store: prepare click insert: %w", err)
		}
		args := make([]any, 0, len(clickColumns)*clicksPerInsert)
		var buf []byte
		for rest := clean; len(rest) > 0; {
			n, stmt := 1, one
			if len(rest) >= clicksPerInsert {
				n, stmt = clicksPerInsert, full
			}
			args = args[:0]
			for i := range rest[:n] {
				args, buf = cleanClickValues(&rest[i], args, buf)
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("store: insert %d clicks from %s: %w", n, rest[0].ClickID, err)
			}
			rest = rest[n:]
		}
		if err := tx.insertFacts(ctx, clean); err != nil {
			return err
		}
		if err := tx.addClickStats(ctx, stats); err != nil {
			return err
		}
		return tx.addClickDims(ctx, dims)
	})
}

// copyClicks is InsertClicks on PostgreSQL: COPY, and the statistics, in
// one transaction.
func (db *DB) copyClicks(ctx context.Context, clicks []track.Click) error {
	rows := make([][]any, len(clicks))
	var buf []byte
	for i := range clicks {
		rows[i], buf = clickValues(&clicks[i], make([]any, 0, len(clickColumns)), buf)
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"clicks"}, clickColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("store: copy %d clicks: %w", len(clicks), err)
	}
	for k, s := range clickStats(clicks) {
		if _, err := tx.Exec(ctx, db.q(addStatsSQL), addStatsArgs(k, s)...); err != nil {
			return fmt.Errorf("store: add to the statistics: %w", err)
		}
	}
	r := db.Rollup()
	err = applyDims(clickDims(&r, clicks), r,
		func() (Rollup, error) { return rollupNow(tx.QueryRow(ctx, db.q(db.rollupForShare()))) },
		func(k *DimsKey, s *Stats) error {
			_, err := tx.Exec(ctx, db.q(addDimsSQL), append(k.values(), s.values()...)...)
			return err
		})
	if err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// clicksPerInsert is how many rows one INSERT statement writes: fewer
// statements, fewer round trips through database/sql and the driver.
const clicksPerInsert = 32

var insertClicksFull, insertClickOne = insertClicksSQL(clicksPerInsert), insertClicksSQL(1)

func insertClicksSQL(n int) string {
	row := "(" + placeholders(len(clickColumns)) + ")"
	return "INSERT INTO clicks (" + strings.Join(clickColumns, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// InsertLandingClicks writes a batch of landing clicks in one transaction.
func (db *DB) InsertLandingClicks(ctx context.Context, lcs []track.LandingClick) error {
	if len(lcs) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx *Tx) error {
		stmt, err := tx.stmt(ctx, "INSERT INTO landing_clicks (click_id, created_at, offer_id) VALUES (?, ?, ?)")
		if err != nil {
			return fmt.Errorf("store: prepare landing click insert: %w", err)
		}
		// Landing clicks count in the row of their click: from the click
		// at hand, else read back.
		stats := map[StatsKey]*Stats{}
		add := func(c *track.Click, n int) {
			k := clickKey(c)
			if stats[k] == nil {
				stats[k] = &Stats{}
			}
			stats[k].LPClicks += int64(n)
			tx.dimsDelta(c, &Stats{LPClicks: int64(n)})
		}
		ids := make([]string, 0, len(lcs))
		seen := make(map[string]int, len(lcs))
		for _, lc := range lcs {
			if _, err := stmt.ExecContext(ctx, lc.ClickID, toDB(lc.CreatedAt), lc.OfferID); err != nil {
				return fmt.Errorf("store: insert landing click: %w", err)
			}
			if lc.Click != nil {
				add(lc.Click, 1)
			} else if seen[lc.ClickID]++; seen[lc.ClickID] == 1 {
				ids = append(ids, lc.ClickID)
			}
		}
		err = tx.queryIDs(ctx, selectClickSQL+" WHERE k.click_id IN (%s)", ids, func(rows *sql.Rows) error {
			c, err := scanClick(rows)
			if err != nil {
				return err
			}
			add(&c, seen[c.ClickID])
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: landing clicks' statistics: %w", err)
		}
		return tx.AddStats(ctx, stats)
	})
}

var (
	// selectClickSQL starts a query for whole clicks, clicks being k.
	selectClickSQL = "SELECT k." + strings.Join(clickColumns, ", k.") + " FROM clicks k"
	// A campaign's clicks in the order of its facts (SQLite): CROSS JOIN
	// fixes the order of the loops, which SQLite's planner has no
	// statistics to choose.
	selectCampaignClicksSQL = "SELECT k." + strings.Join(clickColumns, ", k.") +
		" FROM click_facts f CROSS JOIN clicks k ON k.click_id = f.click_id"
)

func scanClick(r scanner) (track.Click, error) {
	var (
		c       track.Click
		created int64
		details string
	)
	err := r.Scan(&c.ClickID, &created, &c.CampaignID, &c.StreamID, &c.OfferID, &c.LandingID, &c.TrafficSourceID,
		&c.ExternalID, &c.Cost, &c.Country, &c.DeviceType, &c.OS, &c.Browser, &c.IsBot,
		&c.UniqueCampaign, &c.UniqueStream, &c.UniqueGlobal, &details)
	if err != nil {
		return c, err
	}
	c.CreatedAt = fromDB(created)
	if err := unmarshalDetails([]byte(details), &c); err != nil {
		return c, fmt.Errorf("click %s details: %w", c.ClickID, err)
	}
	return c, nil
}

// Click returns the click with a click id.
func (db *DB) Click(ctx context.Context, clickID string) (track.Click, error) {
	c, err := scanClick(db.queryRow(ctx, selectClickSQL+" WHERE k.click_id = ?", clickID))
	return c, notFoundIfNoRows(err, "click", clickID)
}

// ClickQuery selects clicks for the click log.
type ClickQuery struct {
	CampaignID int64
	ExternalID string
	From, To   time.Time // [From, To); zero = open
	// Before pages back: only clicks with a click id lower than it.
	Before string
	Limit  int
}

// Clicks returns clicks newest first.
func (db *DB) Clicks(ctx context.Context, q ClickQuery) ([]track.Click, error) {
	var f filter
	query, order := selectClickSQL, " ORDER BY k.click_id DESC"
	if db.engine == SQLite && q.CampaignID != 0 {
		// A campaign's facts are stored by time: read them backwards from
		// the page's start instead of sorting the campaign's clicks. Click
		// ids sort by time, so the order is the same.
		query, order = selectCampaignClicksSQL, " ORDER BY f.created_at DESC, f.click_id DESC"
		f.eq("f.campaign_id", q.CampaignID, true)
		f.eq("f.external_id", q.ExternalID, q.ExternalID != "")
		f.cmp("f.created_at >= ?", toDB(q.From), !q.From.IsZero())
		f.cmp("f.created_at < ?", toDB(q.To), !q.To.IsZero())
		f.cmp("f.click_id < ?", q.Before, q.Before != "")
		f.cmp("f.created_at <= COALESCE((SELECT created_at FROM clicks WHERE click_id = ?), 9223372036854775807)",
			q.Before, q.Before != "")
	} else {
		f.eq("k.campaign_id", q.CampaignID, q.CampaignID != 0)
		f.eq("k.external_id", q.ExternalID, q.ExternalID != "")
		f.cmp("k.created_at >= ?", toDB(q.From), !q.From.IsZero())
		f.cmp("k.created_at < ?", toDB(q.To), !q.To.IsZero())
		f.cmp("k.click_id < ?", q.Before, q.Before != "")
	}
	out, err := list(ctx, db, scanClick, query+f.sql()+order+" LIMIT "+strconv.Itoa(limit(q.Limit)), f.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list clicks: %w", err)
	}
	return out, nil
}

// LandingClicks returns the landing clicks of one click, oldest first.
func (db *DB) LandingClicks(ctx context.Context, clickID string) ([]track.LandingClick, error) {
	return list(ctx, db, func(r scanner) (track.LandingClick, error) {
		var (
			lc track.LandingClick
			t  int64
		)
		err := r.Scan(&lc.ClickID, &t, &lc.OfferID)
		lc.CreatedAt = fromDB(t)
		return lc, err
	}, "SELECT click_id, created_at, offer_id FROM landing_clicks WHERE click_id = ? ORDER BY id", clickID)
}
