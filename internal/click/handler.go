package click

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trackd/trackd/internal/batch"
	"github.com/trackd/trackd/internal/clickid"
	"github.com/trackd/trackd/internal/enrich"
	"github.com/trackd/trackd/internal/live"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Cookies the click path sets.
const (
	cookieVisitor = "trk_vid" // a random visitor id, for uniqueness
	CookieClick   = "trk_cid" // the last click id, for /lp/click and the pixel
	cookieBinding = "trk_b"   // trk_b<campaign id> = stream.landing.offer
)

// Limits on what a click keeps of the request.
const (
	maxParamBytes     = 256
	maxUABytes        = 512
	maxReferrerBytes  = 1024
	syncWait          = 5 * time.Second
	maxCampaignHops   = 4
	defaultRecentSize = 1 << 16
)

// Handler serves campaign links and landing clicks.
type Handler struct {
	snap      atomic.Pointer[Snapshot]
	reloading sync.Mutex
	db        *store.DB
	ids       *clickid.Generator
	enrich    *enrich.Enricher
	live      *live.Hub
	clicks    *batch.Writer[track.Click]
	lp        *batch.Writer[track.LandingClick]
	seen      *seenSet
	recent    *recentClicks
	log       *slog.Logger
	m         *metrics
}

type metrics struct {
	clicks    *prometheus.CounterVec
	dropped   *prometheus.CounterVec
	batchSize *prometheus.HistogramVec
	queued    *prometheus.GaugeVec
}

// Options configure a Handler.
type Options struct {
	// MaxVisitors sizes the uniqueness memory: a table of at least that
	// many 8-byte slots, allocated once (default 4,194,304 slots, 32 MiB).
	// A visit takes up to six: cookie and IP+UA for the campaign, the
	// stream and globally.
	MaxVisitors int
	// RecentClicks is how many clicks /lp/click finds in memory (default 65536).
	RecentClicks int
	// Registerer receives the click path's metrics; nil for none.
	Registerer prometheus.Registerer
	// Live, when set, gets every recorded click for the live feed.
	Live *live.Hub
}

// New returns a click handler over snap; call Close to flush its batches.
func New(snap *Snapshot, db *store.DB, ids *clickid.Generator, en *enrich.Enricher, log *slog.Logger, o Options) *Handler {
	if o.MaxVisitors <= 0 {
		o.MaxVisitors = 1 << 22
	}
	if o.RecentClicks <= 0 {
		o.RecentClicks = defaultRecentSize
	}
	h := &Handler{db: db, ids: ids, enrich: en, log: log, live: o.Live,
		seen: newSeenSet(o.MaxVisitors), recent: newRecentClicks(o.RecentClicks)}
	h.m = &metrics{
		clicks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trackd_clicks_total",
			Help: "Clicks by outcome: recorded, not_found, unconfirmed (sync write not confirmed in time)."}, []string{"result"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trackd_click_values_dropped_total",
			Help: "Bad values dropped from clicks, by reason."}, []string{"reason"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "trackd_batch_size",
			Help: "Records per committed batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}, []string{"kind"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trackd_batch_queued",
			Help: "Records waiting to be written."}, []string{"kind"}),
	}
	if o.Registerer != nil {
		o.Registerer.MustRegister(h.m.clicks, h.m.dropped, h.m.batchSize, h.m.queued)
	}
	h.snap.Store(snap)
	h.clicks = batch.New(db.InsertClicks, batch.Options{
		// A transaction of 512 clicks holds SQLite's single writer for a
		// few milliseconds, so a postback's commit waits no longer than
		// that; 16 of them queued bound memory as 4 × 2000 did.
		MaxBatch:  512,
		MaxQueued: 16,
		Linger:    clickLinger,
		OnError:   func(err error, n int) { log.Error("write clicks; retrying", "clicks", n, "err", err) },
		OnBatch:   func(n int, _ time.Duration) { h.m.batchSize.WithLabelValues("click").Observe(float64(n)) },
	})
	h.lp = batch.New(db.InsertLandingClicks, batch.Options{
		Linger:  clickLinger,
		OnError: func(err error, n int) { log.Error("write landing clicks; retrying", "clicks", n, "err", err) },
		OnBatch: func(n int, _ time.Duration) { h.m.batchSize.WithLabelValues("landing_click").Observe(float64(n)) },
	})
	return h
}

// clickLinger is how long async clicks wait for others to share their
// commit. Under load a commit per 100 ms of clicks costs the store a
// fraction of a commit per free moment of the writer; a sync click ends the
// wait of its batch at once.
const clickLinger = 100 * time.Millisecond

// SetSnapshot replaces the configuration the handler reads.
func (h *Handler) SetSnapshot(s *Snapshot) { h.snap.Store(s) }

// Snapshot returns the configuration in use.
func (h *Handler) Snapshot() *Snapshot { return h.snap.Load() }

// Close writes every queued click and landing click.
func (h *Handler) Close(ctx context.Context) error {
	return errors.Join(h.clicks.Close(ctx), h.lp.Close(ctx))
}

// UpdateGauges refreshes the queue gauges; the metrics endpoint calls it.
func (h *Handler) UpdateGauges() {
	h.m.queued.WithLabelValues("click").Set(float64(h.clicks.Stats().Queued))
	h.m.queued.WithLabelValues("landing_click").Set(float64(h.lp.Stats().Queued))
}

// ServeHTTP handles GET /{alias}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	snap := h.snap.Load()
	c := snap.campaigns[strings.ToLower(r.PathValue("alias"))]
	if c == nil || c.Paused {
		h.m.clicks.WithLabelValues("not_found").Inc()
		h.notFound(w, r, snap)
		return
	}
	vid := visitorID(r)
	if vid == "" {
		vid = track.RandomToken(12)
		http.SetCookie(w, &http.Cookie{Name: cookieVisitor, Value: vid, Path: "/", MaxAge: 365 * 86400,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	h.serveCampaign(w, r, snap, c, vid, 0)
}

// decision is where a click goes.
type decision struct {
	stream  *stream
	landing *landing
	offer   *offer
}

func (h *Handler) serveCampaign(w http.ResponseWriter, r *http.Request, snap *Snapshot, c *campaign, vid string, hops int) {
	now := time.Now().UTC()
	ck := &track.Click{CreatedAt: now.Truncate(time.Millisecond), CampaignID: c.ID}
	if c.source != nil {
		ck.TrafficSourceID = c.source.ID
	}
	ip := ClientIP(r, snap.trusted)
	h.fill(ck, r, ip, snap, c)
	v := &visit{c: ck, ip: ip, query: r.URL.RawQuery, now: now}

	ipua := ck.IP + "\x00" + ck.UserAgent
	unix := now.Unix()
	window := int64(c.UniquenessHours) * 3600
	ck.UniqueCampaign = h.unique(c.UniquenessMethod, c.ID, 'c', vid, ipua, unix, window)
	ck.UniqueGlobal = h.unique(c.UniquenessMethod, 0, 'g', vid, ipua, unix, 86400)

	d, ok := h.choose(r, snap, c, v)
	if !ok {
		h.m.clicks.WithLabelValues("no_stream").Inc()
		h.notFound(w, r, snap)
		return
	}
	st := d.stream
	// Send to another campaign: the click belongs to the one it ends in.
	if st.Schema == "action" && st.Action.Type == "campaign" {
		next := snap.byID[st.Action.CampaignID]
		if next == nil || next.Paused || hops >= maxCampaignHops {
			h.notFound(w, r, snap)
			return
		}
		h.serveCampaign(w, r, snap, next, vid, hops+1)
		return
	}
	ck.StreamID = st.ID
	ck.UniqueStream = h.unique(c.UniquenessMethod, st.ID, 's', vid, ipua, unix, window)
	if d.offer != nil {
		ck.OfferID = d.offer.ID
	}
	if d.landing != nil {
		ck.LandingID = d.landing.ID
	}
	ck.ClickID = h.ids.New(now).String()

	// Record before answering; in sync mode, wait for the commit.
	wait := snap.Settings.ClickDurability == "sync"
	ctx := r.Context()
	if wait {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, syncWait)
		defer cancel()
	}
	if err := h.clicks.Add(ctx, *ck, wait); err != nil {
		// The visitor still goes on: a lost visitor costs more than a
		// click record the writer is still retrying.
		h.m.clicks.WithLabelValues("unconfirmed").Inc()
		level := slog.LevelWarn
		if r.Context().Err() != nil {
			level = slog.LevelDebug // the visitor left; the click is still in its batch
		}
		h.log.Log(ctx, level, "click not confirmed", "click_id", ck.ClickID, "err", err)
	} else {
		h.m.clicks.WithLabelValues("recorded").Inc()
	}
	if h.live.Watching() {
		h.live.Publish("click", ck.Summary())
	}
	if d.landing != nil {
		// Only a landing's visitor comes back through /lp/click.
		h.recent.add(ck)
	}

	http.SetCookie(w, &http.Cookie{Name: CookieClick, Value: ck.ClickID, Path: "/", MaxAge: 30 * 86400,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	if c.VisitorBinding {
		http.SetCookie(w, &http.Cookie{Name: cookieBinding + strconv.FormatInt(c.ID, 10),
			Value: strconv.FormatInt(ck.StreamID, 10) + "." + strconv.FormatInt(ck.LandingID, 10) + "." + strconv.FormatInt(ck.OfferID, 10),
			Path:  "/", MaxAge: c.UniquenessHours * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	vals := &values{c: ck, campaign: c, query: r.URL.RawQuery}
	h.respond(w, r, snap, st, d, vals)
}

// unique records the visit under the campaign's method and reports
// whether it is unique in scope.
func (h *Handler) unique(method string, scope int64, kind byte, vid, ipua string, now, window int64) bool {
	byCookie := h.seen.visit(h.seen.key(scope, kind|0x80, vid), now, window)
	byIP := h.seen.visit(h.seen.key(scope, kind, ipua), now, window)
	switch method {
	case "cookie":
		return byCookie
	case "ip_ua":
		return byIP
	}
	return byCookie && byIP
}

// choose picks the stream, landing and offer: forced streams first, then
// regular ones by position or weight, then the default.
func (h *Handler) choose(r *http.Request, snap *Snapshot, c *campaign, v *visit) (decision, bool) {
	if c.VisitorBinding {
		if d, ok := h.bound(r, c, v); ok {
			return d, true
		}
	}
	for _, st := range c.forced {
		if st.pass(v) {
			return pickIn(st), true
		}
	}
	if c.Rotation == "weight" {
		var (
			total int
			pick  *stream
		)
		// Weighted reservoir over the matching streams: one pass, no slice.
		for _, st := range c.regular {
			if !st.pass(v) {
				continue
			}
			total += st.Weight
			if randIntN(total) < st.Weight {
				pick = st
			}
		}
		if pick != nil {
			return pickIn(pick), true
		}
	} else {
		for _, st := range c.regular {
			if st.pass(v) {
				return pickIn(st), true
			}
		}
	}
	for _, st := range c.dflt {
		return pickIn(st), true
	}
	return decision{}, false
}

// bound returns the stream, landing and offer a returning visitor was sent
// to, if they are all still there and the stream still takes the visitor.
func (h *Handler) bound(r *http.Request, c *campaign, v *visit) (decision, bool) {
	ck, err := r.Cookie(cookieBinding + strconv.FormatInt(c.ID, 10))
	if err != nil {
		return decision{}, false
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 3 {
		return decision{}, false
	}
	var ids [3]int64
	for i, p := range parts {
		if ids[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return decision{}, false
		}
	}
	st := c.streams[ids[0]]
	if st == nil || st.Paused || !st.pass(v) {
		return decision{}, false
	}
	d := decision{stream: st, landing: st.landingByID[ids[1]], offer: st.offerByID[ids[2]]}
	if ids[1] != 0 && d.landing == nil || ids[2] != 0 && d.offer == nil {
		return decision{}, false
	}
	return d, true
}

// pickIn picks the landing and offer inside a stream by their shares. A
// landings stream picks the offer now too, so that the click records the
// offer it will most likely reach; /lp/click may still choose another.
func pickIn(st *stream) decision {
	d := decision{stream: st}
	switch st.Schema {
	case "landings":
		d.landing, _ = st.landings.pick()
		d.offer, _ = st.offers.pick()
	case "offers":
		d.offer, _ = st.offers.pick()
	}
	return d
}

// respond sends the visitor where the decision says.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, snap *Snapshot, st *stream, d decision, vals *values) {
	w.Header().Set("Cache-Control", "no-store, max-age=0")
	var target []byte
	switch {
	case st.Schema == "action":
		switch st.Action.Type {
		case "url":
			target = st.action.Expand(make([]byte, 0, 256), vals, time.Now())
		case "text":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte(st.Action.Content))
			return
		case "html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(st.Action.Content))
			return
		default: // not_found
			h.notFound(w, r, snap)
			return
		}
	case d.landing != nil:
		vals.offerURL = lpClickURL(r, snap, vals.c.ClickID)
		target = d.landing.url.Expand(make([]byte, 0, 256), vals, time.Now())
	case d.offer != nil:
		target = d.offer.url.Expand(make([]byte, 0, 256), vals, time.Now())
	default:
		// Every offer or landing of the stream is paused.
		h.notFound(w, r, snap)
		return
	}
	redirect(w, st.Redirect, string(target))
}

// redirect sends the visitor to url by a 302, a meta refresh or script.
// url comes from a template whose values are URL-encoded, but it is
// escaped again for the HTML it is put into: traffic parameters never reach
// a page unescaped.
func redirect(w http.ResponseWriter, how, url string) {
	switch how {
	case "meta":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=` +
			html.EscapeString(url) + `"><title>Redirecting</title>`))
	case "js":
		js, _ := json.Marshal(url) // escapes < > & as \u003c...: safe inside <script>
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Redirecting</title><script>location.replace(` +
			string(js) + `)</script><noscript><meta http-equiv="refresh" content="0;url=` + html.EscapeString(url) + `"></noscript>`))
	default:
		w.Header().Set("Location", url)
		w.WriteHeader(http.StatusFound)
	}
}

// lpClickURL is what {offer} expands to: the tracker's /lp/click for this click.
func lpClickURL(r *http.Request, snap *Snapshot, clickID string) string {
	base := snap.Settings.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/lp/click?clickid=" + clickID
}

// notFound sends a visitor of an unknown or paused campaign to the fallback
// URL, or shows a 404 page.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request, snap *Snapshot) {
	w.Header().Set("Cache-Control", "no-store, max-age=0")
	if u := snap.Settings.FallbackURL; u != "" {
		w.Header().Set("Location", u)
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte("404 page not found\n"))
}

// visitorID reads the visitor cookie, ignoring values we did not make.
func visitorID(r *http.Request) string {
	ck, err := r.Cookie(cookieVisitor)
	if err != nil || len(ck.Value) != 16 {
		return ""
	}
	return ck.Value
}

// ClientIP is the visitor's address: the peer, or, when the peer is a
// trusted proxy, the last untrusted address in X-Forwarded-For, or
// X-Real-IP.
func ClientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		all := strings.Join(xff, ",")
		// Walk from the right: the rightmost address not ours is the client.
		for all != "" {
			i := strings.LastIndexByte(all, ',')
			part := strings.TrimSpace(all[i+1:])
			all = all[:max(i, 0)]
			a, err := netip.ParseAddr(part)
			if err != nil {
				break
			}
			a = a.Unmap()
			if !isTrusted(a, trusted) {
				return a
			}
			if i < 0 {
				return a
			}
		}
	}
	if xr := strings.TrimSpace(r.Header.Get("X-Real-IP")); xr != "" {
		if a, err := netip.ParseAddr(xr); err == nil {
			return a.Unmap()
		}
	}
	return peer
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Flush returns once every click recorded before it is in the store: the
// postback path calls it when a conversion names a click it cannot find.
func (h *Handler) Flush(ctx context.Context) error { return h.clicks.Flush(ctx) }
