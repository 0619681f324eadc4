package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trackd/trackd/internal/track"
)

// clickColumns are the columns InsertClicks writes, in the order of
// clickValues.
var clickColumns = func() []string {
	cols := []string{"click_id", "created_at", "campaign_id", "stream_id", "offer_id", "landing_id", "traffic_source_id",
		"external_id", "creative_id", "ad_campaign_id", "keyword", "source"}
	for i := 1; i <= track.MaxSubIDs; i++ {
		cols = append(cols, "sub_id_"+strconv.Itoa(i))
	}
	return append(cols, "cost", "original_cost", "cost_currency", "query", "ip", "user_agent", "referrer", "language",
		"country", "region", "city", "isp", "asn", "connection_type", "device_type", "os", "os_version", "browser",
		"browser_version", "is_bot", "bot_reason", "unique_campaign", "unique_stream", "unique_global")
}()

// clickValues lists c's values for clickColumns. Text from the visitor is
// cleaned so that both engines store the same thing.
func clickValues(c *track.Click, dst []any) []any {
	t := track.CleanText
	dst = append(dst[:0], c.ClickID, toDB(c.CreatedAt), c.CampaignID, c.StreamID, c.OfferID, c.LandingID, c.TrafficSourceID,
		t(c.ExternalID), t(c.CreativeID), t(c.AdCampaignID), t(c.Keyword), t(c.Source))
	for _, s := range c.SubIDs {
		dst = append(dst, t(s))
	}
	return append(dst, int64(c.Cost), int64(c.OriginalCost), c.CostCurrency, t(c.Query), c.IP, t(c.UserAgent), t(c.Referrer),
		t(c.Language), t(c.Country), t(c.Region), t(c.City), t(c.ISP), int64(c.ASN), t(c.ConnectionType), t(c.DeviceType),
		t(c.OS), t(c.OSVersion), t(c.Browser), t(c.BrowserVersion), c.IsBot, c.BotReason, c.UniqueCampaign, c.UniqueStream,
		c.UniqueGlobal)
}

var insertClickSQL = "INSERT INTO clicks (" + strings.Join(clickColumns, ", ") + ") VALUES (" +
	strings.TrimSuffix(strings.Repeat("?, ", len(clickColumns)), ", ") + ")"

// InsertClicks writes a batch of clicks in one transaction: all or none.
// On PostgreSQL it uses COPY.
func (db *DB) InsertClicks(ctx context.Context, clicks []track.Click) error {
	if len(clicks) == 0 {
		return nil
	}
	if db.engine == Postgres {
		rows := make([][]any, len(clicks))
		for i := range clicks {
			rows[i] = clickValues(&clicks[i], make([]any, 0, len(clickColumns)))
		}
		_, err := db.pool.CopyFrom(ctx, pgx.Identifier{"clicks"}, clickColumns, pgx.CopyFromRows(rows))
		if err != nil {
			return fmt.Errorf("store: copy %d clicks: %w", len(clicks), err)
		}
		return nil
	}
	return db.tx(ctx, func(tx *Tx) error {
		stmt, err := tx.tx.PrepareContext(ctx, insertClickSQL)
		if err != nil {
			return fmt.Errorf("store: prepare click insert: %w", err)
		}
		defer stmt.Close()
		args := make([]any, 0, len(clickColumns))
		for i := range clicks {
			args = clickValues(&clicks[i], args)
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("store: insert click %s: %w", clicks[i].ClickID, err)
			}
		}
		return nil
	})
}

// InsertLandingClicks writes a batch of landing clicks in one transaction.
func (db *DB) InsertLandingClicks(ctx context.Context, lcs []track.LandingClick) error {
	if len(lcs) == 0 {
		return nil
	}
	return db.tx(ctx, func(tx *Tx) error {
		stmt, err := tx.tx.PrepareContext(ctx, db.q("INSERT INTO landing_clicks (click_id, created_at, offer_id) VALUES (?, ?, ?)"))
		if err != nil {
			return fmt.Errorf("store: prepare landing click insert: %w", err)
		}
		defer stmt.Close()
		for _, lc := range lcs {
			if _, err := stmt.ExecContext(ctx, lc.ClickID, toDB(lc.CreatedAt), lc.OfferID); err != nil {
				return fmt.Errorf("store: insert landing click: %w", err)
			}
		}
		return nil
	})
}

var selectClickSQL = "SELECT " + strings.Join(clickColumns, ", ") + " FROM clicks"

func scanClick(r scanner) (track.Click, error) {
	var (
		c       track.Click
		created int64
		asn     int64
	)
	dst := []any{&c.ClickID, &created, &c.CampaignID, &c.StreamID, &c.OfferID, &c.LandingID, &c.TrafficSourceID,
		&c.ExternalID, &c.CreativeID, &c.AdCampaignID, &c.Keyword, &c.Source}
	for i := range c.SubIDs {
		dst = append(dst, &c.SubIDs[i])
	}
	dst = append(dst, &c.Cost, &c.OriginalCost, &c.CostCurrency, &c.Query, &c.IP, &c.UserAgent, &c.Referrer,
		&c.Language, &c.Country, &c.Region, &c.City, &c.ISP, &asn, &c.ConnectionType, &c.DeviceType, &c.OS, &c.OSVersion,
		&c.Browser, &c.BrowserVersion, &c.IsBot, &c.BotReason, &c.UniqueCampaign, &c.UniqueStream, &c.UniqueGlobal)
	err := r.Scan(dst...)
	c.CreatedAt, c.ASN = fromDB(created), uint32(asn)
	return c, err
}

// Click returns the click with a click id.
func (db *DB) Click(ctx context.Context, clickID string) (track.Click, error) {
	c, err := scanClick(db.queryRow(ctx, selectClickSQL+" WHERE click_id = ?", clickID))
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
	var (
		where []string
		args  []any
	)
	if q.CampaignID != 0 {
		where, args = append(where, "campaign_id = ?"), append(args, q.CampaignID)
	}
	if q.ExternalID != "" {
		where, args = append(where, "external_id = ?"), append(args, q.ExternalID)
	}
	if !q.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, toDB(q.From))
	}
	if !q.To.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, toDB(q.To))
	}
	if q.Before != "" {
		where, args = append(where, "click_id < ?"), append(args, q.Before)
	}
	query := selectClickSQL
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	query += " ORDER BY click_id DESC LIMIT " + strconv.Itoa(limit)
	out, err := list(ctx, db, scanClick, query, args...)
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
