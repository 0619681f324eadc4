package api

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/report"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// ReportTimeout bounds the work of one report.
var ReportTimeout = 2 * time.Minute

func (a *API) reportRoutes() []Route {
	const viewer = track.RoleViewer
	return []Route{
		{Method: "GET", Path: "/reports", Role: viewer, Handler: a.getReport,
			Summary: "Statistics: group_by (1-3 of hour, day, week, month, day_of_week, campaign, stream, offer, landing, traffic_source, affiliate_network, country, sub_id_1...), " +
				"range or from/to, timezone, filters as campaign=ID (repeatable), where (e.g. country in US,DE; sub_id_1 contains 12; keyword regex ^a), having (e.g. clicks>100), conversion_time, sort (-clicks), limit, offset, format=csv",
			Out: report.Result{}},
		{Method: "POST", Path: "/reports", Role: viewer, Handler: a.postReport,
			Summary: "Statistics for a query in the body (the fields of GET /reports)", In: report.Query{}, Out: report.Result{}},
		{Method: "POST", Path: "/costs", Role: track.RoleAdmin, Handler: a.updateCost,
			Summary: "Set a campaign's cost for a range (dates in the zone, or RFC 3339), spread evenly over its clicks there, optionally of one traffic source or sub_id_1",
			In:      costUpdate{}, Out: costAnswer{}},
	}
}

func (a *API) getReport(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	q := report.Query{Range: v.Get("range"), From: v.Get("from"), To: v.Get("to"), Timezone: v.Get("timezone"),
		Having: v["having"], Where: v["where"], Sort: v.Get("sort"), ConversionTime: v.Get("conversion_time") == "true",
		Filters: map[string][]int64{}}
	if g := v.Get("group_by"); g != "" {
		q.GroupBy = strings.Split(g, ",")
	}
	for _, f := range []string{"limit", "offset"} {
		s := v.Get(f)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || (f == "limit" && n < 1) {
			return track.Invalid(f, "%q: want a positive integer", s)
		}
		if f == "limit" {
			q.Limit = n
		} else {
			q.Offset = n
		}
	}
	for _, d := range []string{"campaign", "stream", "offer", "landing", "traffic_source"} {
		for _, s := range v[d] {
			for _, part := range strings.Split(s, ",") {
				id, err := strconv.ParseInt(part, 10, 64)
				if err != nil || id <= 0 {
					return track.Invalid(d, "%q is not an id", part)
				}
				q.Filters[d] = append(q.Filters[d], id)
			}
		}
	}
	return a.report(w, r, q, v.Get("format"))
}

func (a *API) postReport(w http.ResponseWriter, r *http.Request) error {
	var q report.Query
	if err := decode(w, r, &q); err != nil {
		return err
	}
	return a.report(w, r, q, r.URL.Query().Get("format"))
}

func (a *API) report(w http.ResponseWriter, r *http.Request, q report.Query, format string) error {
	s, err := a.db.Settings(r.Context())
	if err != nil {
		return err
	}
	if format != "" && format != "json" && format != "csv" {
		return badRequest("format", "unknown format %q (want json or csv)", format)
	}
	if format == "csv" {
		return a.export(w, r, q, s.Timezone)
	}
	// A report may take longer than the server's write timeout allows an
	// answer (it is short for the click path's sake): its own bound holds.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(ReportTimeout + 10*time.Second))
	ctx, cancel := context.WithTimeout(r.Context(), ReportTimeout)
	defer cancel()
	res, err := report.Run(ctx, a.db, q, s.Timezone, time.Now())
	if err != nil {
		if ctx.Err() != nil && r.Context().Err() == nil {
			return &Error{Status: http.StatusServiceUnavailable, Code: "timeout",
				Message: fmt.Sprintf("the report took longer than %s: narrow the range or the filters", ReportTimeout)}
		}
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// ExportTimeout bounds a CSV export, which streams its rows.
var ExportTimeout = 15 * time.Minute

// export streams the report as CSV. Until the first row is written an
// error is an ordinary error answer; after it, the body is cut short and
// the error logged.
func (a *API) export(w http.ResponseWriter, r *http.Request, q report.Query, tz string) error {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(ExportTimeout + 10*time.Second))
	ctx, cancel := context.WithTimeout(r.Context(), ExportTimeout)
	defer cancel()
	out := &lazyHeader{w: w}
	err := report.Export(ctx, a.db, q, tz, time.Now(), csv.NewWriter(out))
	if err != nil && out.started {
		a.log.Error("report export cut short", "err", err)
		return nil
	}
	if err != nil && ctx.Err() != nil && r.Context().Err() == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "timeout",
			Message: fmt.Sprintf("the export took longer than %s: narrow the range or the filters", ExportTimeout)}
	}
	return err
}

// lazyHeader sets the CSV headers when the first bytes are written.
type lazyHeader struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyHeader) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		l.w.Header().Set("Content-Disposition", `attachment; filename="report.csv"`)
	}
	return l.w.Write(p)
}

// costUpdate is the body of POST /costs: a campaign's cost for a range,
// spread over its clicks there (optionally of one source or sub_id_1).
type costUpdate struct {
	CampaignID      int64  `json:"campaign_id"`
	From            string `json:"from"`
	To              string `json:"to"`
	Timezone        string `json:"timezone"`
	Cost            string `json:"cost"`
	Currency        string `json:"currency"`
	TrafficSourceID int64  `json:"traffic_source_id"`
	SubID1          string `json:"sub_id_1"`
}

type costAnswer struct {
	Clicks int         `json:"clicks"`
	Cost   track.Money `json:"cost"` // in the account currency
}

// CostTimeout bounds a cost update.
var CostTimeout = 5 * time.Minute

func (a *API) updateCost(w http.ResponseWriter, r *http.Request) error {
	var u costUpdate
	if err := decode(w, r, &u); err != nil {
		return err
	}
	s, err := a.db.Settings(r.Context())
	if err != nil {
		return err
	}
	if u.CampaignID <= 0 {
		return track.Invalid("campaign_id", "is required")
	}
	if _, err := a.db.Campaign(r.Context(), u.CampaignID); err != nil {
		return err
	}
	from, to, err := report.Span(report.Query{From: u.From, To: u.To, Timezone: u.Timezone}, s.Timezone, time.Now())
	if err != nil {
		return err
	}
	amount, err := track.ParseMoney(u.Cost)
	if err != nil || amount < 0 {
		return track.Invalid("cost", "%q is not an amount of money", u.Cost)
	}
	if u.Currency != "" && !strings.EqualFold(u.Currency, s.AccountCurrency) {
		rate, err := a.db.CurrencyRate(r.Context(), strings.ToUpper(u.Currency))
		if err != nil {
			return track.Invalid("currency", "no rate for %q: add one at %s/currency-rates", u.Currency, Prefix)
		}
		amount = track.Convert(amount, rate.Rate)
	}
	// A month of a busy campaign may take longer than the server's write
	// timeout allows an answer: the update's own bound holds.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(CostTimeout + 10*time.Second))
	ctx, cancel := context.WithTimeout(r.Context(), CostTimeout)
	defer cancel()
	n, err := a.db.SpreadCost(ctx, store.CostQuery{CampaignID: u.CampaignID, From: from, To: to,
		TrafficSourceID: u.TrafficSourceID, SubID1: u.SubID1}, amount)
	if err != nil {
		if ctx.Err() != nil && r.Context().Err() == nil {
			return &Error{Status: http.StatusServiceUnavailable, Code: "timeout",
				Message: fmt.Sprintf("the cost update took longer than %s and stopped part-way: send it again to finish it, or narrow the range", CostTimeout)}
		}
		return err
	}
	writeJSON(w, http.StatusOK, costAnswer{Clicks: n, Cost: amount})
	return nil
}
