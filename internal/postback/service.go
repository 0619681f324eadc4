package postback

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/trackd/trackd/internal/batch"
	"github.com/trackd/trackd/internal/click"
	"github.com/trackd/trackd/internal/clickid"
	"github.com/trackd/trackd/internal/live"
	"github.com/trackd/trackd/internal/outbound"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Auth kinds: what authenticated a postback.
const (
	AuthKey        = "key"         // the global postback key
	AuthNetworkKey = "network_key" // a network's own key: valid for its clicks only
	AuthSignature  = "signature"   // an HMAC signature, checked with the click's network's secret
	AuthPixel      = "pixel"       // a browser pixel with the click cookie
	AuthAdmin      = "admin"       // the API (test postback, import, replay)
)

// PendingFor is how long after a click was made a postback for a click that
// is not in the store is kept and retried (it may sit in another node's
// unwritten batch) before it is refused as an unknown click.
const PendingFor = time.Hour

// Request is one postback to process.
type Request struct {
	At       time.Time
	Method   string
	SourceIP netip.Addr
	Params   Params
	// Raw is the request as the log keeps it (see Service.Raw).
	Raw string
	// Auth is what authenticated it; NetworkID the network whose key did.
	Auth      string
	NetworkID int64
	// Signature material, checked once the click's network is known.
	SigTS, Sig, SigMessage string

	ClickID clickid.ID
	// LogID is the log entry to update (a pending postback retried).
	LogID int64
	// Retry marks the last attempt: a click still unknown is then pending
	// (or unknown), not just absent.
	Retry bool
	// Force lets an admin's edit make any status change.
	Force bool
}

// Result is what became of a postback.
type Result struct {
	Status       int           `json:"http_status"`
	Outcome      track.Outcome `json:"outcome"`
	Reason       string        `json:"reason"`
	ConversionID int64         `json:"conversion_id"`
	LogID        int64         `json:"log_id"`
	// absent: the click is not in the store yet (first attempt only).
	absent bool
}

type job struct {
	req *Request
	res Result
	// done: res is decided before the writer (a refusal to log only).
	done bool
}

// Service records postbacks. All writes go through one batch writer: a
// postback is answered after the transaction holding its conversion and
// its log entry commits.
type Service struct {
	db     *store.DB
	snap   func() *click.Snapshot
	ids    *clickid.Generator
	clicks interface{ Flush(context.Context) error }
	log    *slog.Logger
	w      *batch.Writer[*job]
	now    func() time.Time
	stop   chan struct{}
	// queued is set when a batch queued deliveries; Jobs is told once the
	// batch commits.
	queued atomic.Bool
	// Jobs, when set, is called after a commit that queued deliveries.
	Jobs func()
	// Live, when set, gets every conversion change once committed.
	Live *live.Hub
}

// New starts a Service. snap returns the configuration in use; clicks is
// flushed when a postback names a click not in the store yet.
func New(db *store.DB, snap func() *click.Snapshot, ids *clickid.Generator, clicks interface{ Flush(context.Context) error },
	log *slog.Logger) *Service {
	s := &Service{db: db, snap: snap, ids: ids, clicks: clicks, log: log, now: time.Now,
		stop: make(chan struct{})}
	s.w = batch.New(s.write, batch.Options{
		MaxBatch: 500,
		OnError:  func(err error, n int) { log.Error("write postbacks; retrying", "postbacks", n, "err", err) },
	})
	return s
}

// Close stops the pending retries and writes what is queued.
func (s *Service) Close(ctx context.Context) error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	return s.w.Close(ctx)
}

// Refuse logs a postback refused before it reached the writer (bad key,
// malformed, forged click id) without waiting for the log to commit.
func (s *Service) Refuse(req *Request, status int, reason string) Result {
	res := Result{Status: status, Outcome: track.OutcomeRefused, Reason: reason}
	s.w.Add(context.Background(), &job{req: req, res: res, done: true}, false)
	return res
}

// Process records a postback whose click id is verified and answers when
// its outcome is durable. A click not in the store is looked for again
// after the click batches are flushed; if it is still missing, the
// postback is kept as pending and retried in the background.
func (s *Service) Process(ctx context.Context, req *Request) Result {
	j := &job{req: req}
	if err := s.w.Add(ctx, j, true); err != nil {
		return unavailable(err)
	}
	if !j.res.absent {
		return j.res
	}
	if err := s.clicks.Flush(ctx); err != nil {
		return unavailable(err)
	}
	req.Retry = true
	j = &job{req: req}
	if err := s.w.Add(ctx, j, true); err != nil {
		return unavailable(err)
	}
	return j.res
}

func unavailable(err error) Result {
	return Result{Status: http.StatusServiceUnavailable, Outcome: track.OutcomeError,
		Reason: "store unavailable, retry later: " + err.Error()}
}

// write processes a batch in one transaction. If that fails, each postback
// is tried in a transaction of its own, so that one that cannot be written
// does not hold back the others; one that fails alone gets a 503 and the
// network retries it.
func (s *Service) write(ctx context.Context, jobs []*job) error {
	snap := s.snap()
	now := s.now().UTC()
	var results []Result
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		results, err = s.process(ctx, tx, snap, jobs, now)
		return err
	})
	if s.queued.Swap(false) && err == nil && s.Jobs != nil {
		s.Jobs()
	}
	if err == nil {
		for i, j := range jobs {
			j.res = results[i]
			if r := &results[i]; s.Live.Watching() && (r.Outcome == track.OutcomeCreated || r.Outcome == track.OutcomeUpdated) {
				s.Live.Publish("conversion", liveConversion{j.req.ClickID.String(), r.ConversionID, r.Outcome, r.Reason, now})
			}
		}
		return nil
	}
	if len(jobs) == 1 {
		s.log.Error("record postback", "err", err)
		jobs[0].res = unavailable(err)
		return nil
	}
	for _, j := range jobs {
		s.write(ctx, []*job{j})
	}
	return nil
}

// liveConversion is what the live feed shows of a conversion change.
type liveConversion struct {
	ClickID      string        `json:"click_id"`
	ConversionID int64         `json:"conversion_id"`
	Outcome      track.Outcome `json:"outcome"`
	Reason       string        `json:"reason"`
	At           time.Time     `json:"at"`
}

// process decides and writes every postback of a batch, in order, inside tx.
func (s *Service) process(ctx context.Context, tx *store.Tx, snap *click.Snapshot, jobs []*job, now time.Time) ([]Result, error) {
	var ids []string
	seen := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		if id := j.req.ClickID.String(); !j.done && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	clicks, err := tx.ClicksByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	convs, err := tx.ConversionsOfClicks(ctx, ids)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(jobs))
	for i, j := range jobs {
		res := j.res
		var networkID int64
		if !j.done {
			cid := j.req.ClickID.String()
			c, ok := clicks[cid]
			if !ok {
				res = s.absent(j.req, now)
				if res.absent {
					results[i] = res
					continue
				}
			} else {
				var conv track.Conversion
				res, conv, networkID, err = s.convert(ctx, tx, snap, j.req, &c, convs[cid], now)
				if err != nil {
					return nil, err
				}
				clicks[cid] = c // with the sub ids it may have changed
				if res.Outcome == track.OutcomeCreated || res.Outcome == track.OutcomeUpdated {
					convs[cid] = upsert(convs[cid], conv)
				}
			}
		}
		entry := logEntry(j.req, res, networkID)
		if err := tx.LogPostback(ctx, &entry); err != nil {
			return nil, err
		}
		res.LogID = entry.ID
		results[i] = res
	}
	return results, nil
}

func upsert(cs []track.Conversion, c track.Conversion) []track.Conversion {
	for i := range cs {
		if cs[i].ID == c.ID {
			cs[i] = c
			return cs
		}
	}
	return append(cs, c)
}

// absent decides about a postback whose click is not in the store.
func (s *Service) absent(req *Request, now time.Time) Result {
	if !req.Retry {
		return Result{absent: true}
	}
	if now.Sub(req.ClickID.Time()) < PendingFor {
		return Result{Status: http.StatusAccepted, Outcome: track.OutcomePending,
			Reason: "click not recorded yet (another node's batch?): kept and retried in the background"}
	}
	return Result{Status: http.StatusNotFound, Outcome: track.OutcomeRefused,
		Reason: "unknown click: the click id is valid but no click was recorded with it"}
}

// convert checks a postback against its click's network and offer,
// decides and writes the conversion. Retries when another node changed the
// click's conversions in between.
func (s *Service) convert(ctx context.Context, tx *store.Tx, snap *click.Snapshot, req *Request, c *track.Click,
	existing []track.Conversion, now time.Time) (Result, track.Conversion, int64, error) {
	offer := snap.Offer(c.OfferID)
	var network *click.Network
	if offer != nil && offer.AffiliateNetworkID != nil {
		network = snap.Network(*offer.AffiliateNetworkID)
	}
	var networkID int64
	if network != nil {
		networkID = network.ID
	}
	refuse := func(status int, format string, args ...any) (Result, track.Conversion, int64, error) {
		return Result{Status: status, Outcome: track.OutcomeRefused, Reason: fmt.Sprintf(format, args...)},
			track.Conversion{}, networkID, nil
	}
	if msg := authorize(req, network); msg != "" {
		return refuse(http.StatusForbidden, "%s", msg)
	}
	in, ign, status, msg := resolve(req.Params, network, offer, snap)
	if msg != "" {
		return refuse(status, "%s", msg)
	}
	if ign != "" {
		return Result{Status: http.StatusOK, Outcome: track.OutcomeIgnored, Reason: ign}, track.Conversion{}, networkID, nil
	}
	rules := track.ConversionRules{}
	if offer != nil {
		rules.UpsellsAllowed = offer.UpsellsAllowed
	}
	if network != nil {
		rules.UpdatePayout = network.DuplicatePolicy == "update_payout"
	}
	rules.AnyTransition = req.Force
	base := track.Conversion{ClickID: c.ClickID, ClickTime: c.CreatedAt, CampaignID: c.CampaignID, StreamID: c.StreamID,
		OfferID: c.OfferID, LandingID: c.LandingID, TrafficSourceID: c.TrafficSourceID, AffiliateNetworkID: networkID}
	var costModel track.Cost
	costRate := track.Rate(track.RateScale)
	if camp := snap.Campaign(c.CampaignID); camp != nil {
		costModel = camp.Cost
		if r, ok := snap.Rate(camp.Cost.Currency); ok {
			costRate = r
		}
	}
	for attempt := 0; ; attempt++ {
		d := track.Decide(existing, in, rules, base, now)
		d.Conversion.Cost = track.ConversionCost(costModel, costRate, &d.Conversion)
		res := Result{Status: http.StatusOK, Outcome: d.Outcome, Reason: d.Reason, ConversionID: d.Conversion.ID}
		var (
			ok  = true
			err error
		)
		switch d.Outcome {
		case track.OutcomeRefused:
			res.Status = http.StatusConflict
			if d.Index >= 0 {
				res.ConversionID = existing[d.Index].ID
			}
			return res, d.Conversion, networkID, nil
		case track.OutcomeCreated:
			ok, err = tx.InsertConversion(ctx, &d.Conversion)
			res.ConversionID = d.Conversion.ID
		case track.OutcomeUpdated:
			ok, err = tx.UpdateConversion(ctx, &d.Conversion, existing[d.Index])
		}
		if err != nil {
			return Result{}, track.Conversion{}, networkID, err
		}
		if ok {
			if subs := req.Params.SubIDs(); len(subs) > 0 {
				if err := tx.SetClickSubIDs(ctx, c, subs); err != nil {
					return Result{}, track.Conversion{}, networkID, err
				}
			}
			if d.Outcome == track.OutcomeCreated || d.Outcome == track.OutcomeUpdated {
				var old *track.Conversion
				if d.Outcome == track.OutcomeUpdated {
					old = &existing[d.Index]
				}
				if err := tx.ConversionChanged(ctx, old, &d.Conversion, c); err != nil {
					return Result{}, track.Conversion{}, networkID, err
				}
				for _, j := range outbound.Jobs(snap, c, &d.Conversion, d.Outcome == track.OutcomeCreated, now) {
					queued, err := tx.InsertOutboundJob(ctx, &j)
					if err != nil {
						return Result{}, track.Conversion{}, networkID, err
					}
					if queued {
						s.queued.Store(true)
					}
				}
			}
			return res, d.Conversion, networkID, nil
		}
		if attempt == 3 {
			return Result{}, track.Conversion{}, networkID, fmt.Errorf("conversions of click %s keep changing", c.ClickID)
		}
		// Another node wrote first: read again and decide again.
		cur, err := tx.ConversionsOfClicks(ctx, []string{c.ClickID})
		if err != nil {
			return Result{}, track.Conversion{}, networkID, err
		}
		existing = cur[c.ClickID]
	}
}

// authorize checks what can only be checked once the click's network is
// known. It returns why the postback is refused, or "".
func authorize(req *Request, n *click.Network) string {
	switch req.Auth {
	case AuthNetworkKey:
		if n == nil || n.ID != req.NetworkID {
			return fmt.Sprintf("the postback key of affiliate network %d is not valid for this click's offer", req.NetworkID)
		}
	case AuthSignature:
		if n == nil || n.SigningSecret == "" {
			return "signed postback for a click whose offer's network has no signing secret"
		}
		if msg := checkSignature(n.SigningSecret, req); msg != "" {
			return msg
		}
	case AuthPixel:
		if n == nil || !n.AllowPixel {
			return "pixel conversions are off for this click's affiliate network (allow_pixel)"
		}
	}
	if n == nil {
		return ""
	}
	if len(n.Allow) > 0 && req.Auth != AuthAdmin && req.Auth != AuthPixel {
		ip := req.SourceIP.Unmap()
		if !slices.ContainsFunc(n.Allow, func(p netip.Prefix) bool { return p.Contains(ip) }) {
			return fmt.Sprintf("source address %s is not in the IP allow-list of affiliate network %d", ip, n.ID)
		}
	}
	if n.SigningSecret != "" && (req.Auth == AuthKey || req.Auth == AuthNetworkKey) {
		return fmt.Sprintf("affiliate network %d signs its postbacks: an unsigned one is refused", n.ID)
	}
	return ""
}

// SignatureWindow is how far a signed postback's timestamp may be from the
// time it was received.
const SignatureWindow = 5 * time.Minute

// Sign returns the signature of a postback: hex HMAC-SHA256 with the
// network's secret over ts, a newline, the query string without its sig
// parameter, a newline and the body.
func Sign(secret, ts, message string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'\n'})
	m.Write([]byte(message))
	return hex.EncodeToString(m.Sum(nil))
}

func checkSignature(secret string, req *Request) string {
	sec, err := strconv.ParseInt(req.SigTS, 10, 64)
	if err != nil {
		return "signature timestamp is not Unix seconds"
	}
	if d := req.At.Sub(time.Unix(sec, 0)).Abs(); d > SignatureWindow {
		return fmt.Sprintf("signature timestamp is %s away from the time received (window %s)", d.Round(time.Second), SignatureWindow)
	}
	want := Sign(secret, req.SigTS, req.SigMessage)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(req.Sig))) {
		return "signature does not match"
	}
	return ""
}

// resolve turns the parameters into a conversion input with the network's
// names and statuses. ignored is set for a status the postback lists in
// ignore_status; msg (with an HTTP status) when it cannot count.
func resolve(p Params, n *click.Network, offer *track.Offer, snap *click.Snapshot) (in track.ConversionInput, ignored string, status int, msg string) {
	var renames map[string]string
	var mapping map[string]track.Status
	if n != nil {
		renames, mapping = n.PostbackParams, n.Statuses
	}
	raw, _ := p.Canonical("status", renames)
	raw = cut(track.CleanText(strings.TrimSpace(raw)), 64)
	if raw == "" {
		raw = "sale" // Keitaro's default
	}
	if Unsubstituted(raw) {
		return in, "", http.StatusBadRequest, fmt.Sprintf("status %q is a macro the network did not fill in", raw)
	}
	if containsFold(p.List("ignore_status"), raw) || containsFold(p.List("ignore"), raw) {
		return in, fmt.Sprintf("status %q is in ignore_status", raw), 0, ""
	}
	st, ok := track.Status(""), false
	for _, l := range []struct {
		param string
		st    track.Status
	}{{"lead_status", track.StatusLead}, {"sale_status", track.StatusSale}, {"rejected_status", track.StatusRejected}} {
		if containsFold(p.List(l.param), raw) {
			st, ok = l.st, true
			break
		}
	}
	if !ok {
		st, ok = track.CanonicalStatus(raw, mapping)
	}
	if !ok {
		return in, "", http.StatusUnprocessableEntity, fmt.Sprintf(
			"status %q is not mapped: map it on the affiliate network (statuses) or with lead_status/sale_status/rejected_status", raw)
	}
	in.Status, in.RawStatus = st, raw
	if tid, _ := p.Canonical("tid", renames); tid != "" {
		if Unsubstituted(tid) {
			return in, "", http.StatusBadRequest, fmt.Sprintf("transaction id %q is a macro the network did not fill in", cut(tid, 64))
		}
		if len(tid) > 128 {
			return in, "", http.StatusBadRequest, "transaction id is longer than 128 bytes"
		}
		in.TID = track.CleanText(tid)
	}
	if ev, _ := p.Canonical("event", renames); ev != "" && !Unsubstituted(ev) {
		in.Event = cut(track.CleanText(ev), 64)
	}
	account := snap.Settings.AccountCurrency
	cur := account
	if offer != nil && offer.Payout.Currency != "" {
		cur = offer.Payout.Currency
	}
	if offer != nil && offer.Payout.Type == "fixed" {
		in.HasPayout, in.OriginalPayout = true, offer.Payout.Amount
	} else if v, name := p.Canonical("payout", renames); v != "" {
		if Unsubstituted(v) {
			return in, "", http.StatusBadRequest, fmt.Sprintf("%s %q is a macro the network did not fill in", name, cut(v, 64))
		}
		m, err := ParsePayout(v)
		if err != nil {
			return in, "", http.StatusBadRequest, name + ": " + err.Error()
		}
		in.HasPayout, in.OriginalPayout = true, m
		if c, cname := p.Canonical("currency", renames); c != "" {
			if Unsubstituted(c) {
				return in, "", http.StatusBadRequest, fmt.Sprintf("%s %q is a macro the network did not fill in", cname, cut(c, 64))
			}
			c = strings.ToUpper(strings.TrimSpace(c))
			if track.ValidCurrency(c) != nil {
				return in, "", http.StatusBadRequest, fmt.Sprintf("%s %q is not a three-letter currency code", cname, cut(c, 16))
			}
			cur = c
		}
	}
	rate, ok := snap.Rate(cur)
	if !ok {
		return in, "", http.StatusUnprocessableEntity, fmt.Sprintf(
			"currency %s has no rate to %s: add it at /api/v1/currency-rates/%s", cur, account, cur)
	}
	in.OriginalCurrency, in.Rate = cur, rate
	in.Payout = track.Convert(in.OriginalPayout, rate)
	if !in.HasPayout {
		in.OriginalPayout, in.Payout = 0, 0
	}
	return in, "", 0, ""
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

func logEntry(req *Request, res Result, networkID int64) track.PostbackLogEntry {
	e := track.PostbackLogEntry{ID: req.LogID, ReceivedAt: req.At, Method: req.Method, Request: req.Raw, Auth: authText(req),
		Outcome: res.Outcome, Reason: cut(res.Reason, 500), HTTPStatus: res.Status, ConversionID: res.ConversionID,
		AffiliateNetworkID: networkID}
	if req.SourceIP.IsValid() {
		e.SourceIP = req.SourceIP.String()
	}
	if !req.ClickID.IsZero() {
		e.ClickID = req.ClickID.String()
	} else {
		v, _ := req.Params.Canonical("clickid", nil)
		e.ClickID = cut(track.CleanText(v), 64)
	}
	return e
}
