package api

import (
	"net/http"

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
	p := newListParams(r)
	cq := store.ClickQuery{CampaignID: p.id("campaign_id"), ExternalID: p.get("external_id"), Before: p.get("before"),
		Limit: p.limit()}
	cq.From, cq.To = p.span()
	if p.err != nil {
		return p.err
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
