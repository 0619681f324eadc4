package store

import (
	"context"
	"fmt"
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

// Add adds o to s.
func (s *Stats) Add(o *Stats) {
	a, b := s.ptrs(), o.values()
	for i := range a {
		*a[i].(*int64) += b[i].(int64)
	}
}

var statsKeyColumns = []string{"hour", "campaign_id", "stream_id", "offer_id", "landing_id", "traffic_source_id"}

// addStatsSQL adds one delta to its row, making it when new.
var addStatsSQL = func() string {
	var set []string
	for _, c := range statsColumns {
		set = append(set, c+" = stats_hourly."+c+" + excluded."+c)
	}
	cols := append(append([]string{}, statsKeyColumns...), statsColumns...)
	return "INSERT INTO stats_hourly (" + strings.Join(cols, ", ") + ") VALUES (" + placeholders(len(cols)) +
		") ON CONFLICT (" + strings.Join(statsKeyColumns, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
}()

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
	var s Stats
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
// click: call it in the transaction that writes the change.
func (tx *Tx) ConversionChanged(ctx context.Context, old *track.Conversion, now *track.Conversion) error {
	d := conversionStats(now)
	if old != nil {
		o := conversionStats(old)
		a, b := d.ptrs(), o.values()
		for i := range a {
			*a[i].(*int64) -= b[i].(int64)
		}
	}
	k := StatsKey{hourOf(now.ClickTime), now.CampaignID, now.StreamID, now.OfferID, now.LandingID, now.TrafficSourceID}
	return tx.AddStats(ctx, map[StatsKey]*Stats{k: &d})
}
