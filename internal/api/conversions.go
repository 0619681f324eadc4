package api

import (
	"context"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/trackd/trackd/internal/postback"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Postbacks runs the API's postback operations through the postback path.
type Postbacks interface {
	Test(context.Context, postback.TestPostback) (postback.Result, error)
	SetStatus(context.Context, track.Conversion, track.Status) (postback.Result, error)
	Replay(context.Context, track.PostbackLogEntry) (postback.Result, error)
	Import(context.Context, io.Reader) ([]postback.ImportLine, error)
}

// listParams reads the query parameters the log routes share.
type listParams struct {
	q   map[string][]string
	err error
}

func newListParams(r *http.Request) *listParams { return &listParams{q: r.URL.Query()} }

func (p *listParams) get(name string) string {
	if v := p.q[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// id reads a positive integer parameter (0 when absent).
func (p *listParams) id(name string) int64 {
	s := p.get(name)
	if s == "" || p.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		p.err = badRequest(name, "%s %q is not a positive integer", name, s)
	}
	return n
}

// span reads from and to (RFC 3339).
func (p *listParams) span() (from, to time.Time) {
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if s := p.get(f.name); s != "" && p.err == nil {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				p.err = badRequest(f.name, "%s %q is not an RFC 3339 time such as 2026-11-28T00:00:00Z", f.name, s)
			}
			*f.dst = t
		}
	}
	if p.err == nil && !from.IsZero() && !to.IsZero() && !from.Before(to) {
		p.err = badRequest("from", "from must be before to")
	}
	return from, to
}

// limit reads limit: 1 to 1000, 100 when absent.
func (p *listParams) limit() int {
	s := p.get("limit")
	if s == "" || p.err != nil {
		return 100
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 1000 {
		p.err = badRequest("limit", "limit %q: want 1 to 1000", s)
	}
	return n
}

// page is a list with the cursor of the next page.
type page[T any] struct {
	Items []T `json:"items"`
	// Next is the value of "before" for the next page; 0 on the last.
	Next int64 `json:"next"`
}

func (a *API) listConversions(w http.ResponseWriter, r *http.Request) error {
	p := newListParams(r)
	q := store.ConversionQuery{ClickID: p.get("click_id"), CampaignID: p.id("campaign_id"), OfferID: p.id("offer_id"),
		Status: track.Status(p.get("status")), Before: p.id("before"), Limit: p.limit()}
	q.From, q.To = p.span()
	if p.err != nil {
		return p.err
	}
	if q.Status != "" && !q.Status.Valid() {
		return badRequest("status", "unknown status %q (want lead, sale, rejected or rebill)", q.Status)
	}
	cs, err := a.db.Conversions(r.Context(), q)
	if err != nil {
		return err
	}
	out := page[track.Conversion]{Items: cs}
	if len(cs) == q.Limit {
		out.Next = cs[len(cs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getByID serves GET .../{id} of an object read by get.
func getByID[T any](kind string, get func(context.Context, int64) (T, error)) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r, kind)
		if err != nil {
			return err
		}
		v, err := get(r.Context(), id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	}
}

// statusEdit is the body of PATCH /conversions/{id}.
type statusEdit struct {
	Status track.Status `json:"status"`
}

func (a *API) editConversion(w http.ResponseWriter, r *http.Request) error {
	pb, err := a.postbacks()
	if err != nil {
		return err
	}
	id, err := pathID(r, "conversion")
	if err != nil {
		return err
	}
	var e statusEdit
	if err := decode(w, r, &e); err != nil {
		return err
	}
	c, err := a.db.Conversion(r.Context(), id)
	if err != nil {
		return err
	}
	res, err := pb.SetStatus(r.Context(), c, e.Status)
	if err != nil {
		return err
	}
	writeJSON(w, answerStatus(res), res)
	return nil
}

// answerStatus is the API's status for a postback's outcome: 200 when it
// was recorded, the postback path's own code otherwise.
func answerStatus(res postback.Result) int {
	if res.Status >= 300 {
		return res.Status
	}
	return http.StatusOK
}

func (a *API) importConversions(w http.ResponseWriter, r *http.Request) error {
	pb, err := a.postbacks()
	if err != nil {
		return err
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "text/csv" && mt != "text/plain" {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Field: "body",
			Message: "send the lines clickid,payout,tid,status as text/csv"}
	}
	lines, err := pb.Import(r.Context(), http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, items[postback.ImportLine]{Items: lines})
	return nil
}

func (a *API) listPostbacks(w http.ResponseWriter, r *http.Request) error {
	p := newListParams(r)
	q := store.PostbackQuery{ClickID: p.get("click_id"), Outcome: track.Outcome(p.get("outcome")), Before: p.id("before"),
		Limit: p.limit()}
	q.From, q.To = p.span()
	if p.err != nil {
		return p.err
	}
	if q.Outcome != "" && !validOutcome(q.Outcome) {
		return badRequest("outcome", "unknown outcome %q", q.Outcome)
	}
	es, err := a.db.PostbackLog(r.Context(), q)
	if err != nil {
		return err
	}
	out := page[track.PostbackLogEntry]{Items: es}
	if len(es) == q.Limit {
		out.Next = es[len(es)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func validOutcome(o track.Outcome) bool { return slices.Contains(track.Outcomes, o) }

func (a *API) replayPostback(w http.ResponseWriter, r *http.Request) error {
	pb, err := a.postbacks()
	if err != nil {
		return err
	}
	id, err := pathID(r, "postback")
	if err != nil {
		return err
	}
	e, err := a.db.PostbackLogEntry(r.Context(), id)
	if err != nil {
		return err
	}
	res, err := pb.Replay(r.Context(), e)
	if err != nil {
		return err
	}
	writeJSON(w, answerStatus(res), res)
	return nil
}

func (a *API) testPostback(w http.ResponseWriter, r *http.Request) error {
	pb, err := a.postbacks()
	if err != nil {
		return err
	}
	var t postback.TestPostback
	if err := decode(w, r, &t); err != nil {
		return err
	}
	res, err := pb.Test(r.Context(), t)
	if err != nil {
		return err
	}
	writeJSON(w, answerStatus(res), res)
	return nil
}

func (a *API) postbacks() (Postbacks, error) {
	if a.Postbacks == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
			Message: "the postback path is not running in this process"}
	}
	return a.Postbacks, nil
}
