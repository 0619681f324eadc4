package report

import (
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Metrics of a row. Counts are integers; money is in the account
// currency and rates are percentages, both exact decimals (6 places),
// never floats. The formulas are in docs/reports.md.
type Metrics struct {
	Clicks             int64       `json:"clicks"`
	UniqueClicks       int64       `json:"unique_clicks"`        // unique in the campaign
	UniqueStreamClicks int64       `json:"unique_stream_clicks"` // unique in the stream
	UniqueGlobalClicks int64       `json:"unique_global_clicks"` // unique across campaigns
	Bots               int64       `json:"bots"`
	LPClicks           int64       `json:"lp_clicks"`
	LPCTR              track.Money `json:"lp_ctr"`      // lp_clicks / clicks × 100
	Conversions        int64       `json:"conversions"` // leads + sales + rejected
	Leads              int64       `json:"leads"`
	Sales              int64       `json:"sales"`
	Rejected           int64       `json:"rejected"`
	Rebills            int64       `json:"rebills"`
	Approve            track.Money `json:"approve"` // sales / (leads + sales + rejected) × 100
	CR                 track.Money `json:"cr"`      // conversions / clicks × 100
	RevenueHold        track.Money `json:"revenue_hold"`
	RevenueConfirmed   track.Money `json:"revenue_confirmed"`
	Revenue            track.Money `json:"revenue"` // hold + confirmed
	Cost               track.Money `json:"cost"`
	Profit             track.Money `json:"profit"` // confirmed − cost
	ROI                track.Money `json:"roi"`    // profit / cost × 100
	EPC                track.Money `json:"epc"`    // confirmed / clicks
	CPC                track.Money `json:"cpc"`    // cost / clicks
	CPA                track.Money `json:"cpa"`    // cost / conversions
	ECPM               track.Money `json:"ecpm"`   // confirmed / clicks × 1000
}

// MetricNames are the metrics' JSON names, for sorting and Having.
var MetricNames = []string{"clicks", "unique_clicks", "unique_stream_clicks", "unique_global_clicks", "bots", "lp_clicks",
	"lp_ctr", "conversions", "leads", "sales", "rejected", "rebills", "approve", "cr", "revenue_hold", "revenue_confirmed",
	"revenue", "cost", "profit", "roi", "epc", "cpc", "cpa", "ecpm"}

const unit = 1_000_000 // micro-units of a Money

// ratio is a × mul / b in Money units, rounded half away from zero; 0
// when b is 0. a and b are in the same units.
func ratio(a, b, mul int64) track.Money {
	if b == 0 {
		return 0
	}
	x := new(big.Int).Mul(big.NewInt(a), big.NewInt(mul*unit))
	y := big.NewInt(b)
	q, r := new(big.Int).QuoRem(x, y, new(big.Int))
	if new(big.Int).Abs(new(big.Int).Mul(r, big.NewInt(2))).Cmp(new(big.Int).Abs(y)) >= 0 {
		if (x.Sign() < 0) != (y.Sign() < 0) {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return track.Money(q.Int64())
}

func compute(s *store.Stats) Metrics {
	m := Metrics{Clicks: s.Clicks, UniqueClicks: s.UniqueCampaign, UniqueStreamClicks: s.UniqueStream,
		UniqueGlobalClicks: s.UniqueGlobal, Bots: s.Bots, LPClicks: s.LPClicks, Leads: s.Leads, Sales: s.Sales,
		Rejected: s.Rejected, Rebills: s.Rebills, RevenueHold: track.Money(s.RevenueHold),
		RevenueConfirmed: track.Money(s.RevenueConfirmed), Cost: track.Money(s.Cost)}
	m.Conversions = m.Leads + m.Sales + m.Rejected
	m.Revenue = m.RevenueHold + m.RevenueConfirmed
	m.Profit = m.RevenueConfirmed - m.Cost
	m.LPCTR = ratio(m.LPClicks, m.Clicks, 100)
	m.Approve = ratio(m.Sales, m.Conversions, 100)
	m.CR = ratio(m.Conversions, m.Clicks, 100)
	m.ROI = ratio(int64(m.Profit), int64(m.Cost), 100)
	m.EPC = ratio(int64(m.RevenueConfirmed), m.Clicks*unit, 1)
	m.CPC = ratio(int64(m.Cost), m.Clicks*unit, 1)
	m.CPA = ratio(int64(m.Cost), m.Conversions*unit, 1)
	m.ECPM = ratio(int64(m.RevenueConfirmed), m.Clicks*unit, 1000)
	return m
}

// metricValue is a metric in Money units (counts × 10^6), for comparing.
func metricValue(m *Metrics, name string) int64 {
	switch name {
	case "clicks":
		return m.Clicks * unit
	case "unique_clicks":
		return m.UniqueClicks * unit
	case "unique_stream_clicks":
		return m.UniqueStreamClicks * unit
	case "unique_global_clicks":
		return m.UniqueGlobalClicks * unit
	case "bots":
		return m.Bots * unit
	case "lp_clicks":
		return m.LPClicks * unit
	case "lp_ctr":
		return int64(m.LPCTR)
	case "conversions":
		return m.Conversions * unit
	case "leads":
		return m.Leads * unit
	case "sales":
		return m.Sales * unit
	case "rejected":
		return m.Rejected * unit
	case "rebills":
		return m.Rebills * unit
	case "approve":
		return int64(m.Approve)
	case "cr":
		return int64(m.CR)
	case "revenue_hold":
		return int64(m.RevenueHold)
	case "revenue_confirmed":
		return int64(m.RevenueConfirmed)
	case "revenue":
		return int64(m.Revenue)
	case "cost":
		return int64(m.Cost)
	case "profit":
		return int64(m.Profit)
	case "roi":
		return int64(m.ROI)
	case "epc":
		return int64(m.EPC)
	case "cpc":
		return int64(m.CPC)
	case "cpa":
		return int64(m.CPA)
	case "ecpm":
		return int64(m.ECPM)
	}
	return 0
}

func compareMetric(a, b *Metrics, name string) int {
	return cmpInt(metricValue(a, name), metricValue(b, name))
}

// having is a list of conditions on metrics, all of which a row passes.
type having []condition

type condition struct {
	metric, op string
	value      int64
}

var ops = []string{">=", "<=", "!=", ">", "<", "="}

// parseHaving reads conditions such as "clicks > 100" or "roi<=-20.5".
func parseHaving(hs []string) (having, error) {
	if len(hs) > 20 {
		return nil, track.Invalid("having", "at most 20 conditions")
	}
	var out having
	for i, h := range hs {
		field := "having[" + strconv.Itoa(i) + "]"
		var c condition
		for _, op := range ops {
			if l, r, ok := strings.Cut(h, op); ok {
				c.metric, c.op = strings.TrimSpace(l), op
				v, err := track.ParseMoney(strings.TrimSpace(r))
				if err != nil {
					return nil, track.Invalid(field, "%q: the value is not a number", h)
				}
				c.value = int64(v)
				break
			}
		}
		if c.op == "" {
			return nil, track.Invalid(field, "%q: want METRIC OP NUMBER with OP one of > >= < <= = !=", h)
		}
		if !slices.Contains(MetricNames, c.metric) {
			return nil, track.Invalid(field, "unknown metric %q", c.metric)
		}
		out = append(out, c)
	}
	return out, nil
}

func (h having) pass(m *Metrics) bool {
	for _, c := range h {
		v := metricValue(m, c.metric)
		ok := false
		switch c.op {
		case ">":
			ok = v > c.value
		case ">=":
			ok = v >= c.value
		case "<":
			ok = v < c.value
		case "<=":
			ok = v <= c.value
		case "=":
			ok = v == c.value
		case "!=":
			ok = v != c.value
		}
		if !ok {
			return false
		}
	}
	return true
}

// Values are the metrics as text, in the order of MetricNames.
func (m *Metrics) Values() []string {
	out := make([]string, len(MetricNames))
	for i, name := range MetricNames {
		v := metricValue(m, name)
		if isCount(name) {
			out[i] = strconv.FormatInt(v/unit, 10)
		} else {
			out[i] = track.Money(v).String()
		}
	}
	return out
}

func isCount(name string) bool {
	switch name {
	case "clicks", "unique_clicks", "unique_stream_clicks", "unique_global_clicks", "bots", "lp_clicks",
		"conversions", "leads", "sales", "rejected", "rebills":
		return true
	}
	return false
}
