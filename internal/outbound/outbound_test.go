package outbound_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/outbound"
	"github.com/trackd/trackd/internal/server"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// env is a trackd serving on loopback over a real store, with a traffic
// source whose clicks carry an external id in "cid", one offer and one
// campaign "c" of that source.
type env struct {
	t       *testing.T
	db      *store.DB
	url     string
	key     string
	pbKey   string
	source  int64
	camp    int64
	noRedir *http.Client
}

// fast are delivery options for tests: short backoff, quick polls.
var fast = outbound.Options{Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 20 * time.Millisecond,
	Timeout: 300 * time.Millisecond, ProbeEvery: 100 * time.Millisecond}

func newEnv(t *testing.T, db *store.DB, o outbound.Options) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := db.Init(ctx, "admin", "0123456789"); err != nil {
		t.Fatal(err)
	}
	k := track.APIKey{Name: "test", Role: track.RoleAdmin}
	if err := db.CreateAPIKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	s, err := server.New(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Config{Version: "test", Outbound: o})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close(context.Background())
	})
	st, err := db.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, url: "http://" + ln.Addr().String(), key: k.Key, pbKey: st.PostbackKey,
		noRedir: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	return e
}

// setup makes the source (with postback pb, a JSON object or "") and the
// campaign (with its own postback cpb, or "").
func (e *env) setup(pb, cpb string) {
	e.t.Helper()
	if pb == "" {
		pb = "{}"
	}
	if cpb == "" {
		cpb = "{}"
	}
	e.source = e.create("/traffic-sources", `{"name":"Push","params":[{"slot":"external_id","param":"cid"}],"postback":`+pb+`}`)
	offer := e.create("/offers", `{"name":"O","url":"https://offer.example/?s={clickid}","upsells_allowed":true}`)
	e.camp = e.create("/campaigns", fmt.Sprintf(`{"alias":"c","name":"C","traffic_source_id":%d,"postback":%s,
		"streams":[{"type":"default","offers":[{"offer_id":%d}]}]}`, e.source, cpb, offer))
}

func (e *env) api(method, path, body string, want int) string {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+"/api/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.noRedir.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	return string(b)
}

func (e *env) create(path, body string) int64 {
	e.t.Helper()
	var v struct{ ID int64 }
	json.Unmarshal([]byte(e.api("POST", path, body, 201)), &v)
	return v.ID
}

// click makes a click with external id ext and returns its click id.
func (e *env) click(ext string) string {
	e.t.Helper()
	res, err := e.noRedir.Get(e.url + "/c?cid=" + url.QueryEscape(ext))
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Query().Get("s") == "" {
		e.t.Fatalf("click: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("s")
}

// postback sends a postback and wants 200.
func (e *env) postback(query string) {
	e.t.Helper()
	res, err := http.Get(e.url + "/" + e.pbKey + "/postback?" + query)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		e.t.Fatalf("postback %s = %d %s", query, res.StatusCode, b)
	}
}

// jobs lists delivery jobs through the API.
func (e *env) jobs(query string) []track.OutboundJob {
	e.t.Helper()
	var p struct{ Items []track.OutboundJob }
	if err := json.Unmarshal([]byte(e.api("GET", "/outbound?limit=1000&"+query, "", 200)), &p); err != nil {
		e.t.Fatal(err)
	}
	return p.Items
}

// waitFor polls cond until it holds; it fails the test after a generous
// deadline (a liveness check, not a speed limit).
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.t.Fatalf("still waiting for %s", what)
		}
	}
}

// receiver is a local HTTP receiver whose behaviour the test changes: it
// can be down (its port closed), slow, flaky or up, and it records what it
// got.
type receiver struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	mode string // up, slow, flaky, down
	ln   net.Listener
	srv  *http.Server
	n    int
	got  []*http.Request
	body map[*http.Request]string
	keys map[string]int // Idempotency-Key → deliveries answered 200
	hits map[string]int // requests by the mode they met
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, mode: "up", body: map[*http.Request]string{}, keys: map[string]int{}, hits: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.srv = &http.Server{Handler: r}
	r.ln = ln
	go r.srv.Serve(ln)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *receiver) url(path string) string { return "http://" + r.addr + path }

func (r *receiver) set(mode string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case mode == "down" && r.mode != "down":
		r.srv.Close()
	case mode != "down" && r.mode == "down":
		ln, err := net.Listen("tcp", r.addr)
		if err != nil {
			r.t.Fatalf("receiver back up on %s: %v", r.addr, err)
		}
		r.srv = &http.Server{Handler: r}
		go r.srv.Serve(ln)
	}
	r.mode = mode
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	mode := r.mode
	r.n++
	n := r.n
	flaky := mode == "flaky" && n%2 == 0
	if mode != "flaky" || flaky {
		r.hits[mode]++
	}
	r.mu.Unlock()
	switch {
	case mode == "slow":
		time.Sleep(time.Second) // beyond the sender's timeout
	case flaky:
		http.Error(w, "flaky", http.StatusBadGateway)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, req)
	r.body[req] = string(b)
	r.keys[req.Header.Get("Idempotency-Key")]++
	r.mu.Unlock()
	io.WriteString(w, "ok")
}

// sawIn reports whether a request met mode (for flaky: a failure).
func (r *receiver) sawIn(mode string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hits[mode] > 0
}

func (r *receiver) delivered() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.got...)
}

func allow(e *env) { e.api("PATCH", "/settings", `{"outbound_allow":["127.0.0.0/8"]}`, 200) }

// TestDeliveryThroughFaults: conversions made while the receiver is down,
// then slow, then flaky, are all delivered once it recovers, once each,
// with their macros filled in; every failed attempt is logged with why.
func TestDeliveryThroughFaults(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, fast)
		r := newReceiver(t)
		allow(e)
		e.setup(`{"url":"`+r.url("/pb?cid={external_id}&payout={payout}&st={status:lead=0 sale=1}&tid={tid}&cur={currency}")+
			`","statuses":["lead","sale"],"payout_share_percent":50}`, "")
		r.set("down")
		const n = 20
		for i := range n {
			e.postback(fmt.Sprintf("subid=%s&status=lead&payout=3&tid=T%d", e.click(fmt.Sprintf("ext-%d", i)), i))
		}
		e.waitFor("failed attempts while the receiver is down", func() bool {
			for _, j := range e.jobs("state=pending") {
				if j.Attempts > 0 {
					return true
				}
			}
			return false
		})
		r.set("slow")
		e.waitFor("an attempt while the receiver is slow", func() bool { return r.sawIn("slow") })
		time.Sleep(fast.Timeout + 100*time.Millisecond) // that attempt times out
		r.set("flaky")
		e.waitFor("a failure while the receiver is flaky", func() bool { return r.sawIn("flaky") })
		r.set("up")
		e.waitFor("every job delivered", func() bool { return len(e.jobs("state=delivered")) == n })

		got := map[string]bool{}
		for _, req := range r.delivered() {
			q := req.URL.Query()
			if q.Get("payout") != "1.5" || q.Get("st") != "0" || q.Get("cur") != "USD" || !strings.HasPrefix(q.Get("cid"), "ext-") {
				t.Errorf("delivered %s: want payout 1.5 (50%% of 3), st 0, cur USD, cid ext-N", req.URL)
			}
			got[q.Get("cid")] = true
		}
		if len(got) != n {
			t.Errorf("receiver got %d distinct conversions, want %d", len(got), n)
		}
		// The log explains each failure.
		reasons := map[string]bool{}
		for _, j := range e.jobs("") {
			var full track.OutboundJob
			json.Unmarshal([]byte(e.api("GET", fmt.Sprintf("/outbound/%d", j.ID), "", 200)), &full)
			if len(full.History) != full.Attempts || full.History[len(full.History)-1].Outcome != "delivered" {
				t.Errorf("job %d: %d attempts, history %+v", j.ID, full.Attempts, full.History)
			}
			for _, a := range full.History {
				switch {
				case strings.Contains(a.Reason, "refused"):
					reasons["down"] = true
				case strings.Contains(a.Reason, "timeout"):
					reasons["slow"] = true
				case a.StatusCode == 502:
					reasons["flaky"] = true
				}
			}
		}
		for _, want := range []string{"down", "slow", "flaky"} {
			if !reasons[want] {
				t.Errorf("no attempt logged the receiver being %s", want)
			}
		}

		// A status change fires again (the source wants sales too); the
		// same postback again does not.
		j := e.jobs("")[0]
		u, _ := url.Parse(j.URL)
		sale := fmt.Sprintf("subid=%s&status=sale&tid=%s", j.ClickID, u.Query().Get("tid"))
		e.postback(sale)
		e.waitFor("the sale delivered", func() bool { return len(e.jobs("state=delivered")) == n+1 })
		e.postback(sale)
		time.Sleep(100 * time.Millisecond)
		if all := e.jobs(""); len(all) != n+1 {
			t.Errorf("%d jobs after a duplicate postback, want %d", len(all), n+1)
		}
	})
}
