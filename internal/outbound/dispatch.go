package outbound

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trackd/trackd/internal/batch"
	"github.com/trackd/trackd/internal/click"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Options configure a Dispatcher; zero fields take the defaults.
type Options struct {
	Workers    int           // deliveries at once (default 64)
	PerHost    int           // deliveries at once to one host (default 8)
	Timeout    time.Duration // per attempt (default 5s)
	Lease      time.Duration // how long a claimed job is this node's (default 1m)
	Poll       time.Duration // how often the queue is read without a wake-up (default 1s)
	PauseAfter int           // failed attempts in a row that pause a target (default 50)
	ProbeEvery time.Duration // how often a paused target is tried with one job (default 1m)
	Backoff    time.Duration // the first retry's delay (default 2s), doubled each time up to MaxBackoff
	MaxBackoff time.Duration // default 1h
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Workers, 64)
	def(&o.PerHost, 8)
	def(&o.PauseAfter, 50)
	defD(&o.Timeout, 5*time.Second)
	defD(&o.Lease, time.Minute)
	defD(&o.ProbeEvery, time.Minute)
	defD(&o.Poll, time.Second)
	defD(&o.Backoff, 2*time.Second)
	defD(&o.MaxBackoff, time.Hour)
}

// Dispatcher delivers the queued jobs: it claims due jobs from the store
// with a lease, sends them with bounded concurrency (in all and per
// host), and records each attempt and the job's new state in batches.
type Dispatcher struct {
	db      *store.DB
	snap    func() *click.Snapshot
	guard   *Guard
	sender  *Sender
	log     *slog.Logger
	o       Options
	wake    chan struct{}
	done    chan struct{} // a delivery finished: room for another
	results *batch.Writer[store.JobResult]
	now     func() time.Time

	mu      sync.Mutex
	perHost map[string]int           // jobs claimed and not yet done, by host
	slots   map[string]chan struct{} // deliveries under way, by host (at most PerHost)
	busy    int
	wg      sync.WaitGroup

	m metrics
}

type metrics struct {
	pauses   prometheus.Counter
	attempts *prometheus.CounterVec
	latency  prometheus.Histogram
}

// New returns a Dispatcher; call Run to start it. The guard's allow-list
// follows the settings of snap.
func New(db *store.DB, snap func() *click.Snapshot, log *slog.Logger, reg prometheus.Registerer, o Options) *Dispatcher {
	o.defaults()
	g := NewGuard(allowList(snap().Settings.OutboundAllow))
	d := &Dispatcher{db: db, snap: snap, guard: g, sender: NewSender(g, o.Timeout), log: log, o: o,
		wake: make(chan struct{}, 1), done: make(chan struct{}, 1), perHost: map[string]int{}, slots: map[string]chan struct{}{}, now: time.Now}
	d.results = batch.New(d.record, batch.Options{
		MaxBatch: 500,
		Linger:   20 * time.Millisecond,
		OnError:  func(err error, n int) { log.Error("record deliveries; retrying", "attempts", n, "err", err) },
	})
	d.m.pauses = prometheus.NewCounter(prometheus.CounterOpts{Name: "trackd_outbound_target_pauses_total",
		Help: "Targets paused for failing (see GET /api/v1/outbound/targets)."})
	d.m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trackd_outbound_attempts_total",
		Help: "Delivery attempts of postbacks and webhooks by target and outcome (delivered, retry, failed)."},
		[]string{"target", "outcome"})
	d.m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "trackd_outbound_delivery_seconds",
		Help:    "Time from a delivery job's creation (the conversion change) to its delivery.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 60, 600, 3600}})
	if reg != nil {
		reg.MustRegister(d.m.attempts, d.m.latency, d.m.pauses, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "trackd_outbound_queue_depth", Help: "Delivery jobs waiting (pending), read from the store at scrape time."},
			func() float64 {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				n, err := db.PendingJobs(ctx)
				if err != nil {
					return -1
				}
				return float64(n)
			}))
	}
	return d
}

// record writes a batch of results and reports the targets it paused.
func (d *Dispatcher) record(ctx context.Context, rs []store.JobResult) error {
	paused, err := d.db.RecordJobResults(ctx, rs)
	if err != nil {
		return err
	}
	for _, t := range paused {
		d.m.pauses.Inc()
		d.log.Error("delivery target paused for failing; its jobs wait, a probe will resume it (GET /api/v1/outbound/targets)",
			"target", t, "failures", d.o.PauseAfter)
	}
	return nil
}

// Wake makes the dispatcher read the queue now: new jobs are committed.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the deliveries in flight
// and records them.
func (d *Dispatcher) Run(ctx context.Context) {
	if err := d.db.ReleaseLeases(ctx); err != nil {
		d.log.Error("release the delivery leases of the last run", "err", err)
	}
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	var allowed []string
	for {
		if a := d.snap().Settings.OutboundAllow; !slices.Equal(a, allowed) {
			// Pooled connections were checked against the old list.
			d.guard.SetAllow(allowList(a))
			d.sender.CloseIdleConnections()
			allowed = a
		}
		if n := d.claim(ctx); n > 0 {
			continue // there may be more due
		}
		select {
		case <-ctx.Done():
			d.wg.Wait()
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.results.Close(cctx); err != nil {
				d.log.Error("record deliveries at shutdown", "err", err)
			}
			return
		case <-d.wake:
		case <-d.done:
		case <-t.C:
		}
	}
}

func allowList(list []string) []netip.Prefix {
	out := []netip.Prefix{}
	for _, a := range list {
		if p, err := track.ParsePrefix(a); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// claim leases as many due jobs as there is room for and starts them. It
// returns how many it started when that filled the room (more may be
// due), else 0.
func (d *Dispatcher) claim(ctx context.Context) int {
	if ctx.Err() != nil {
		return 0
	}
	d.mu.Lock()
	room := d.o.Workers - d.busy
	var busy []string
	for h, n := range d.perHost {
		if n >= d.o.PerHost {
			busy = append(busy, h)
		}
	}
	d.mu.Unlock()
	if room <= 0 {
		return 0
	}
	now := d.now().UTC()
	jobs, err := d.db.ClaimJobs(ctx, room, busy, now, now.Add(d.o.Lease), d.o.ProbeEvery)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("read delivery queue", "err", err)
		}
		return 0
	}
	for _, j := range jobs {
		host := store.JobHost(j.URL)
		d.mu.Lock()
		d.busy++
		d.perHost[host]++
		slot := d.slots[host]
		if slot == nil {
			slot = make(chan struct{}, d.o.PerHost)
			d.slots[host] = slot
		}
		d.mu.Unlock()
		d.wg.Add(1)
		go func() {
			defer d.finish(host)
			// One claim may hold more of a host's jobs than it may get at
			// once: they take turns. At shutdown the ones still waiting
			// are left to their lease (taken back at the next start).
			select {
			case slot <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-slot }()
			d.deliver(j)
		}()
	}
	if len(jobs) == room {
		return len(jobs)
	}
	return 0
}

// finish counts a claimed job of host as done: room for another.
func (d *Dispatcher) finish(host string) {
	d.mu.Lock()
	d.busy--
	if d.perHost[host]--; d.perHost[host] <= 0 {
		delete(d.perHost, host)
		delete(d.slots, host)
	}
	d.mu.Unlock()
	d.wg.Done()
	select {
	case d.done <- struct{}{}:
	default:
	}
}

// deliver makes one attempt of j and queues its result. Deliveries run
// outside the Run context: one in flight at shutdown ends by its timeout.
func (d *Dispatcher) deliver(j track.OutboundJob) {
	req := Request{Method: j.Method, URL: j.URL, Header: j.Header, Body: []byte(j.Body), IdempotencyKey: j.IdempotencyKey()}
	start := d.now()
	if j.Secret != "" {
		h := make(map[string]string, len(j.Header)+1)
		for k, v := range j.Header {
			h[k] = v
		}
		h[SignatureHeader] = SignWebhook(j.Secret, start.Unix(), req.Body)
		req.Header = h
	}
	a := d.sender.Send(context.Background(), req)
	r := store.JobResult{Job: j, PauseAfter: d.o.PauseAfter, Probe: d.o.ProbeEvery, Attempt: track.OutboundAttempt{JobID: j.ID, At: start.UTC(),
		URL: j.URL, StatusCode: a.StatusCode, LatencyMS: float64(a.Latency.Microseconds()) / 1000,
		Reason: a.Reason, Response: a.Response}}
	switch a.Outcome {
	case Delivered:
		r.State, r.Attempt.Outcome = track.JobDelivered, "delivered"
		d.m.latency.Observe(d.now().Sub(j.CreatedAt).Seconds())
	case Fail:
		r.State, r.Attempt.Outcome, r.Failure = track.JobFailed, "failed", true
	default:
		r.Attempt.Outcome, r.Failure = "retry", true
		next := start.Add(max(d.backoff(j.Attempts), a.RetryAfter))
		if next.After(j.Deadline) && !d.paused(j.Target) {
			r.State = track.JobFailed
			r.Attempt.Reason = "gave up after " + strconv.Itoa(j.Attempts+1) + " attempts: " + a.Reason
		} else {
			r.State, r.NextAttempt = track.JobPending, next.UTC()
		}
	}
	if r.State == track.JobFailed {
		r.Attempt.Outcome = "failed"
	}
	d.m.attempts.WithLabelValues(j.Target, r.Attempt.Outcome).Inc()
	if r.NextAttempt.IsZero() {
		r.NextAttempt = start.UTC()
	}
	d.results.Add(context.Background(), r, false)
}

// paused reports whether target is paused: its jobs, the probes among
// them too, wait for it instead of running out of time.
func (d *Dispatcher) paused(target string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := d.db.TargetPaused(ctx, target)
	return err == nil && p
}

// backoff is the delay before retry n+1 (n attempts made): Backoff
// doubled n times, at most MaxBackoff, with jitter between half and all
// of it, so that a recovering receiver is not hit by every job at once.
func (d *Dispatcher) backoff(n int) time.Duration {
	b := d.o.Backoff
	for i := 0; i < n && b < d.o.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.o.MaxBackoff)
	return b/2 + rand.N(b/2+1)
}

// SignatureHeader carries a webhook's signature.
const SignatureHeader = "X-Trackd-Signature"

// SignWebhook returns the signature header of body sent at Unix time ts:
// "t=TS,v1=HEX", HEX being HMAC-SHA256 with the webhook's secret over TS,
// a dot and the body (see docs/outbound.md).
func SignWebhook(secret string, ts int64, body []byte) string {
	t := strconv.FormatInt(ts, 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(t))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(m.Sum(nil))
}
