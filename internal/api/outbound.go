package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/outbound"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Outbound is the delivery queue's side of the API.
type Outbound interface {
	// Wake makes the queue read due jobs now.
	Wake()
	// Test expands a postback template (a target's or one given) for a
	// conversion, and sends it when asked.
	Test(context.Context, outbound.Test) (outbound.TestResult, error)
}

func (a *API) webhooks() crud[track.Webhook] {
	return crud[track.Webhook]{
		kind: "webhook", list: a.db.Webhooks, get: a.db.Webhook,
		create: a.db.CreateWebhook, update: a.db.UpdateWebhook, delete: a.db.DeleteWebhook,
		prepare: func(r *http.Request, w *track.Webhook, id int64) error {
			w.ID = id
			w.Normalize()
			if w.Secret == "" && id != 0 {
				old, err := a.db.Webhook(r.Context(), id)
				if err != nil {
					return err
				}
				w.Secret = old.Secret // a PUT without the secret keeps it
			}
			if w.Secret == "" {
				b := make([]byte, 24)
				rand.Read(b)
				w.Secret = hex.EncodeToString(b)
			}
			return w.Validate()
		},
		present: func(r *http.Request, ws []track.Webhook) error {
			if k, _ := keyFrom(r.Context()); k.Role != track.RoleAdmin {
				for i := range ws {
					ws[i].Secret = ""
				}
			}
			return nil
		},
	}
}

func (a *API) outboundRoutes() []Route {
	const viewer, admin = track.RoleViewer, track.RoleAdmin
	return []Route{
		{Method: "GET", Path: "/outbound", Role: viewer, Handler: a.listJobs,
			Summary: "Outgoing postbacks and webhook calls, newest first; filters click_id, conversion_id, target, state (pending, delivered, failed), before, limit",
			Out:     page[track.OutboundJob]{}},
		{Method: "GET", Path: "/outbound/{id}", Role: viewer, Handler: getByID("delivery job", a.db.OutboundJob),
			Summary: "One delivery job with every attempt: URL sent, status code, latency, response", Out: track.OutboundJob{}},
		{Method: "POST", Path: "/outbound/retry", Role: admin, Handler: a.retryJobs,
			Summary: "Deliver again the jobs with these ids, or every failed job of a target", In: retryRequest{}, Out: retryAnswer{}},
		{Method: "GET", Path: "/outbound/targets", Role: viewer, Handler: a.listTargets,
			Summary: "Delivery targets that failed or were paused, with their pending and failed jobs",
			Out:     items[track.OutboundTarget]{}},
		{Method: "POST", Path: "/outbound/targets/{target}/pause", Role: admin, Handler: a.pauseTarget(true),
			Summary: "Pause deliveries to a target (source:ID, campaign:ID or webhook:ID); its jobs wait", Status: http.StatusNoContent},
		{Method: "POST", Path: "/outbound/targets/{target}/resume", Role: admin, Handler: a.pauseTarget(false),
			Summary: "Resume deliveries to a target; its backlog is sent at once", Status: http.StatusNoContent},
		{Method: "POST", Path: "/outbound/test", Role: admin, Handler: a.testOutbound,
			Summary: "Expand a target's postback (or a template) for a conversion and show the request; send it with send=true",
			In:      outbound.Test{}, Out: outbound.TestResult{}},
	}
}

func (a *API) outbound() (Outbound, error) {
	if a.Outbound == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the delivery queue is not running on this node"}
	}
	return a.Outbound, nil
}

func validTarget(t string) bool {
	kind, id, ok := strings.Cut(t, ":")
	if !ok || (kind != track.TargetSource && kind != track.TargetCampaign && kind != track.TargetWebhook) || id == "" || len(id) > 19 {
		return false
	}
	for _, c := range []byte(id) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) error {
	p := newListParams(r)
	q := store.JobQuery{ClickID: p.get("click_id"), ConversionID: p.id("conversion_id"), Target: p.get("target"),
		State: p.get("state"), Before: p.id("before"), Limit: p.limit()}
	if p.err != nil {
		return p.err
	}
	if q.Target != "" && !validTarget(q.Target) {
		return badRequest("target", "target %q: want source:ID, campaign:ID or webhook:ID", q.Target)
	}
	if q.State != "" && q.State != track.JobPending && q.State != track.JobDelivered && q.State != track.JobFailed {
		return badRequest("state", "unknown state %q (want pending, delivered or failed)", q.State)
	}
	js, err := a.db.OutboundJobs(r.Context(), q)
	if err != nil {
		return err
	}
	out := page[track.OutboundJob]{Items: js}
	if len(js) == q.Limit {
		out.Next = js[len(js)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// retryRequest is the body of POST /outbound/retry: ids, or a target.
type retryRequest struct {
	IDs    []int64 `json:"ids"`
	Target string  `json:"target"`
}

type retryAnswer struct {
	Retried int `json:"retried"`
}

func (a *API) retryJobs(w http.ResponseWriter, r *http.Request) error {
	var req retryRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	switch {
	case len(req.IDs) > 1000:
		return badRequest("ids", "at most 1000 ids at once")
	case len(req.IDs) == 0 && req.Target == "":
		return badRequest("ids", "give ids or a target")
	case req.Target != "" && !validTarget(req.Target):
		return badRequest("target", "target %q: want source:ID, campaign:ID or webhook:ID", req.Target)
	}
	s, err := a.db.Settings(r.Context())
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	n, err := a.db.RetryJobs(r.Context(), req.IDs, req.Target, now, now.Add(time.Duration(s.OutboundRetryHours)*time.Hour))
	if err != nil {
		return err
	}
	if a.Outbound != nil {
		a.Outbound.Wake()
	}
	writeJSON(w, http.StatusOK, retryAnswer{Retried: n})
	return nil
}

func (a *API) listTargets(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.db.OutboundTargets(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, items[track.OutboundTarget]{Items: ts})
	return nil
}

func (a *API) pauseTarget(pause bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		t := r.PathValue("target")
		if !validTarget(t) {
			return badRequest("target", "target %q: want source:ID, campaign:ID or webhook:ID", t)
		}
		if err := a.db.PauseTarget(r.Context(), t, pause, time.Now().UTC()); err != nil {
			return err
		}
		if !pause && a.Outbound != nil {
			a.Outbound.Wake()
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (a *API) testOutbound(w http.ResponseWriter, r *http.Request) error {
	ob, err := a.outbound()
	if err != nil {
		return err
	}
	var t outbound.Test
	if err := decode(w, r, &t); err != nil {
		return err
	}
	res, err := ob.Test(r.Context(), t)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
