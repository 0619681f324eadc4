package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/trackd/trackd/internal/track"
)

// factColumns are the columns of click_facts (SQLite only): the clicks'
// reportable values, clustered by campaign and time. See migration 0008.
var factColumns = func() []string {
	out := []string{"campaign_id", "created_at", "click_id", "stream_id", "offer_id", "landing_id", "traffic_source_id",
		"cost", "is_bot", "unique_campaign", "unique_stream", "unique_global",
		"country", "region", "city", "isp", "connection_type", "language", "device_type", "os", "os_version",
		"browser", "browser_version", "external_id", "source", "creative_id", "ad_campaign_id", "keyword"}
	for i := 1; i <= track.MaxSubIDs; i++ {
		out = append(out, fmt.Sprintf("sub_id_%d", i))
	}
	return out
}()

// factValues appends the click_facts values of c, whose text is clean
// (cleanClick), to dst.
func factValues(c *track.Click, dst []any) []any {
	dst = append(dst, c.CampaignID, toDB(c.CreatedAt), c.ClickID, c.StreamID, c.OfferID, c.LandingID, c.TrafficSourceID,
		int64(c.Cost), c.IsBot, c.UniqueCampaign, c.UniqueStream, c.UniqueGlobal,
		c.Country, c.Region, c.City, c.ISP, c.ConnectionType, c.Language, c.DeviceType, c.OS, c.OSVersion,
		c.Browser, c.BrowserVersion, c.ExternalID, c.Source, c.CreativeID, c.AdCampaignID, c.Keyword)
	for _, s := range c.SubIDs {
		dst = append(dst, s)
	}
	return dst
}

const factsPerInsert = 32

var insertFactsFull, insertFactOne = insertFactsSQL(factsPerInsert), insertFactsSQL(1)

func insertFactsSQL(n int) string {
	row := "(" + placeholders(len(factColumns)) + ")"
	return "INSERT INTO click_facts (" + strings.Join(factColumns, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// insertFacts writes the facts of clicks (clean text) in tx (SQLite).
func (tx *Tx) insertFacts(ctx context.Context, clicks []track.Click) error {
	full, err := tx.stmt(ctx, insertFactsFull)
	if err != nil {
		return fmt.Errorf("store: prepare click facts insert: %w", err)
	}
	one, err := tx.stmt(ctx, insertFactOne)
	if err != nil {
		return fmt.Errorf("store: prepare click facts insert: %w", err)
	}
	args := make([]any, 0, len(factColumns)*factsPerInsert)
	for len(clicks) > 0 {
		n, stmt := 1, one
		if len(clicks) >= factsPerInsert {
			n, stmt = factsPerInsert, full
		}
		args = args[:0]
		for i := range clicks[:n] {
			args = factValues(&clicks[i], args)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("store: insert the facts of %d clicks: %w", n, err)
		}
		clicks = clicks[n:]
	}
	return nil
}

// cleanClick returns c with its text from the visitor made storable on
// both engines (track.CleanText).
func cleanClick(c *track.Click) track.Click {
	t := track.CleanText
	cl := *c
	for i := range cl.SubIDs {
		cl.SubIDs[i] = t(cl.SubIDs[i])
	}
	cl.CreativeID, cl.AdCampaignID, cl.Keyword, cl.Source = t(c.CreativeID), t(c.AdCampaignID), t(c.Keyword), t(c.Source)
	cl.Query, cl.UserAgent, cl.Referrer, cl.Language = t(c.Query), t(c.UserAgent), t(c.Referrer), t(c.Language)
	cl.Region, cl.City, cl.ISP, cl.ConnectionType = t(c.Region), t(c.City), t(c.ISP), t(c.ConnectionType)
	cl.OSVersion, cl.BrowserVersion = t(c.OSVersion), t(c.BrowserVersion)
	cl.ExternalID, cl.Country, cl.DeviceType, cl.OS, cl.Browser = t(c.ExternalID), t(c.Country), t(c.DeviceType), t(c.OS), t(c.Browser)
	return cl
}
