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

// factInts is how many of factColumns come first and are always written.
const factInts = 12

// factTexts returns c's values for factColumns[factInts:].
func factTexts(c *track.Click) [16 + track.MaxSubIDs]string {
	var out [16 + track.MaxSubIDs]string
	copy(out[:], []string{c.Country, c.Region, c.City, c.ISP, c.ConnectionType, c.Language, c.DeviceType, c.OS,
		c.OSVersion, c.Browser, c.BrowserVersion, c.ExternalID, c.Source, c.CreativeID, c.AdCampaignID, c.Keyword})
	copy(out[16:], c.SubIDs[:])
	return out
}

// factMask has a bit for each text value of c that is not empty: the
// columns an insert names (the others are NULL, which reports read as
// empty). Most of a click's values are empty, and a value not bound is
// the cheapest.
func factMask(c *track.Click) uint64 {
	var m uint64
	for i, v := range factTexts(c) {
		if v != "" {
			m |= 1 << i
		}
	}
	return m
}

// factsPerInsert is how many rows one INSERT into click_facts writes.
const factsPerInsert = 32

// maxFactShapes bounds the statements prepared for column sets: traffic
// has a few (a source sends the same parameters); past the bound, rows
// name every column.
const maxFactShapes = 64

// allFacts is the mask of every text column.
const allFacts = 1<<(16+track.MaxSubIDs) - 1

// factShape is the text of the inserts of one column set: full for
// factsPerInsert rows, one for a row.
type factShape struct{ full, one string }

func insertFactsSQL(mask uint64, n int) string {
	cols := append([]string{}, factColumns[:factInts]...)
	for i, c := range factColumns[factInts:] {
		if mask&(1<<i) != 0 {
			cols = append(cols, c)
		}
	}
	row := "(" + placeholders(len(cols)) + ")"
	return "INSERT INTO click_facts (" + strings.Join(cols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// insertFacts writes the facts of clicks (clean text) in tx (SQLite),
// those with the same values present together.
func (tx *Tx) insertFacts(ctx context.Context, clicks []track.Click) error {
	byMask := map[uint64][]int{}
	var masks []uint64
	for i := range clicks {
		m := factMask(&clicks[i])
		if _, known := tx.db.factShapes.Load(m); !known && tx.db.factShapeCount.Load() >= maxFactShapes {
			m = allFacts
		}
		if _, ok := byMask[m]; !ok {
			masks = append(masks, m)
		}
		byMask[m] = append(byMask[m], i)
	}
	args := make([]any, 0, len(factColumns)*factsPerInsert)
	for _, m := range masks {
		shape, ok := tx.db.factShapes.Load(m)
		if !ok {
			var loaded bool
			shape, loaded = tx.db.factShapes.LoadOrStore(m, &factShape{insertFactsSQL(m, factsPerInsert), insertFactsSQL(m, 1)})
			if !loaded {
				tx.db.factShapeCount.Add(1)
			}
		}
		rows := byMask[m]
		for len(rows) > 0 {
			n, query := 1, shape.(*factShape).one
			if len(rows) >= factsPerInsert {
				n, query = factsPerInsert, shape.(*factShape).full
			}
			stmt, err := tx.stmt(ctx, query)
			if err != nil {
				return fmt.Errorf("store: prepare click facts insert: %w", err)
			}
			args = args[:0]
			for _, i := range rows[:n] {
				c := &clicks[i]
				args = append(args, c.CampaignID, toDB(c.CreatedAt), c.ClickID, c.StreamID, c.OfferID, c.LandingID,
					c.TrafficSourceID, int64(c.Cost), c.IsBot, c.UniqueCampaign, c.UniqueStream, c.UniqueGlobal)
				for j, v := range factTexts(c) {
					if m&(1<<j) != 0 {
						args = append(args, orNull(v))
					}
				}
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("store: insert the facts of %d clicks: %w", n, err)
			}
			rows = rows[n:]
		}
	}
	return nil
}

// orNull is s, or NULL for the empty string (reports read NULL as empty).
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
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
