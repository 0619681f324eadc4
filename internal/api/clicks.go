package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/trackd/trackd/internal/click"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Simulator runs the click path without recording: the "test click".
type Simulator interface {
	Simulate(click.TestClick) (click.TestResult, error)
}

// clickLog is the body of GET /clicks.
type clickLog struct {
	Items []track.Click `json:"items"`
	// Next is the value of "before" for the next page; empty on the last.
	Next string `json:"next"`
}

func (a *API) listClicks(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var cq store.ClickQuery
	var err error
	if s := q.Get("campaign_id"); s != "" {
		if cq.CampaignID, err = strconv.ParseInt(s, 10, 64); err != nil || cq.CampaignID <= 0 {
			return badRequest("campaign_id", "campaign_id %q is not a positive integer", s)
		}
	}
	cq.ExternalID = q.Get("external_id")
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &cq.From}, {"to", &cq.To}} {
		if s := q.Get(p.name); s != "" {
			if *p.dst, err = time.Parse(time.RFC3339, s); err != nil {
				return badRequest(p.name, "%s %q is not an RFC 3339 time such as 2026-11-28T00:00:00Z", p.name, s)
			}
		}
	}
	if !cq.From.IsZero() && !cq.To.IsZero() && !cq.From.Before(cq.To) {
		return badRequest("from", "from must be before to")
	}
	cq.Before = q.Get("before")
	cq.Limit = 100
	if s := q.Get("limit"); s != "" {
		if cq.Limit, err = strconv.Atoi(s); err != nil || cq.Limit < 1 || cq.Limit > 1000 {
			return badRequest("limit", "limit %q: want 1 to 1000", s)
		}
	}
	clicks, err := a.db.Clicks(r.Context(), cq)
	if err != nil {
		return err
	}
	out := clickLog{Items: clicks}
	if len(clicks) == cq.Limit {
		out.Next = clicks[len(clicks)-1].ClickID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// clickDetail is the body of GET /clicks/{click_id}.
type clickDetail struct {
	track.Click
	LandingClicks []track.LandingClick `json:"landing_clicks"`
}

func (a *API) getClick(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("click_id")
	c, err := a.db.Click(r.Context(), id)
	if err != nil {
		return err
	}
	lcs, err := a.db.LandingClicks(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, clickDetail{Click: c, LandingClicks: lcs})
	return nil
}

func (a *API) testClick(w http.ResponseWriter, r *http.Request) error {
	if a.Simulator == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the click path is not running in this process"}
	}
	var t click.TestClick
	if err := decode(w, r, &t); err != nil {
		return err
	}
	res, err := a.Simulator.Simulate(t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
