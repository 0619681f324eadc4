package outbound_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/outbound"
	"github.com/trackd/trackd/internal/server"
	"github.com/trackd/trackd/internal/server/servertest"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// env is a trackd serving on loopback over a real store, with a traffic
// source whose clicks carry an external id in "cid", one offer and one
// campaign "c" of that source.
type env struct {
	*servertest.Env
	source int64
	camp   int64
}

// fast are delivery options for tests: short backoff, quick polls.
var fast = outbound.Options{Backoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: 20 * time.Millisecond,
	Timeout: 300 * time.Millisecond, ProbeEvery: 100 * time.Millisecond}

func newEnv(t testing.TB, db *store.DB, o outbound.Options) *env {
	t.Helper()
	return &env{Env: servertest.Start(t, db, server.Config{Outbound: o})}
}

// setup makes the source (with postback pb, a JSON object or "") and the
// campaign (with its own postback cpb, or "").
func (e *env) setup(pb, cpb string) {
	e.T.Helper()
	if pb == "" {
		pb = "{}"
	}
	if cpb == "" {
		cpb = "{}"
	}
	e.source = e.Create("/traffic-sources", `{"name":"Push","params":[{"slot":"external_id","param":"cid"}],"postback":`+pb+`}`)
	offer := e.Create("/offers", `{"name":"O","url":"https://offer.example/?s={clickid}","upsells_allowed":true}`)
	e.camp = e.Create("/campaigns", fmt.Sprintf(`{"alias":"c","name":"C","traffic_source_id":%d,"postback":%s,
		"streams":[{"type":"default","offers":[{"offer_id":%d}]}]}`, e.source, cpb, offer))
}

// click makes a click with external id ext and returns its click id.
func (e *env) click(ext string) string {
	e.T.Helper()
	res, err := e.NoRedirect.Get(e.URL + "/c?cid=" + url.QueryEscape(ext))
	if err != nil {
		e.T.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || loc.Query().Get("s") == "" {
		e.T.Fatalf("click: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	return loc.Query().Get("s")
}

// postback sends a postback and wants 200.
func (e *env) postback(query string) {
	e.T.Helper()
	res, err := http.Get(e.URL + "/" + e.PostbackKey + "/postback?" + query)
	if err != nil {
		e.T.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		e.T.Fatalf("postback %s = %d %s", query, res.StatusCode, b)
	}
}

// jobs lists delivery jobs through the API.
func (e *env) jobs(query string) []track.OutboundJob {
	e.T.Helper()
	var p struct{ Items []track.OutboundJob }
	if err := json.Unmarshal([]byte(e.API("GET", "/outbound?limit=1000&"+query, "", 200)), &p); err != nil {
		e.T.Fatal(err)
	}
	return p.Items
}

// waitFor polls cond until it holds; it fails the test after a generous
// deadline (a liveness check, not a speed limit).
func (e *env) waitFor(what string, cond func() bool) {
	e.T.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			e.T.Fatalf("still waiting for %s", what)
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

func allow(e *env) { e.API("PATCH", "/settings", `{"outbound_allow":["127.0.0.0/8"]}`, 200) }

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
			json.Unmarshal([]byte(e.API("GET", fmt.Sprintf("/outbound/%d", j.ID), "", 200)), &full)
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

// TestBadReceivers: a receiver that answers 500, redirects, sends a
// gigabyte, resets the connection or hangs: each attempt is logged with
// its reason and the right retry decision, and no worker gets stuck.
func TestBadReceivers(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		o := fast
		o.PauseAfter = 1000
		e := newEnv(t, db, o)
		allow(e)
		landed := make(chan bool, 10)
		mux := http.NewServeMux()
		mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
		mux.HandleFunc("/302", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/landed", http.StatusFound) })
		mux.HandleFunc("/landed", func(w http.ResponseWriter, r *http.Request) { landed <- true })
		mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(strings.Repeat("x", 64<<10))
			for i := 0; i < 1<<14; i++ { // 1 GiB unless the client goes away
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		})
		mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		})
		mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		srv := &http.Server{Handler: mux}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		defer srv.Close()
		hooks := map[string]string{}
		for _, p := range []string{"/500", "/302", "/huge", "/reset", "/hang"} {
			id := e.Create("/webhooks", `{"name":"`+p+`","url":"http://`+ln.Addr().String()+p+`","enabled":true}`)
			hooks[track.Target(track.TargetWebhook, id)] = p
		}
		e.setup("", "")
		e.postback("subid=" + e.click("x") + "&status=lead&payout=1")

		state := func(path string) track.OutboundJob {
			for target, p := range hooks {
				if p == path {
					js := e.jobs("target=" + target)
					if len(js) != 1 {
						t.Fatalf("%d jobs for %s, want 1", len(js), path)
					}
					var full track.OutboundJob
					json.Unmarshal([]byte(e.API("GET", fmt.Sprintf("/outbound/%d", js[0].ID), "", 200)), &full)
					return full
				}
			}
			panic(path)
		}
		e.waitFor("every bad receiver tried twice or settled", func() bool {
			for _, p := range []string{"/500", "/reset", "/hang"} {
				if state(p).Attempts < 2 {
					return false
				}
			}
			return state("/302").State != track.JobPending && state("/huge").State != track.JobPending
		})
		for _, c := range []struct {
			path, state, reason string
		}{
			{"/500", track.JobPending, "500"},
			{"/302", track.JobFailed, "redirect 302 not followed"},
			{"/huge", track.JobDelivered, "200"},
			{"/reset", track.JobPending, "reset"},
			{"/hang", track.JobPending, "timeout"},
		} {
			j := state(c.path)
			last := j.History[len(j.History)-1]
			if j.State != c.state || !strings.Contains(last.Reason, c.reason) {
				t.Errorf("%s: state %s, last attempt %q; want %s and a reason with %q", c.path, j.State, last.Reason, c.state, c.reason)
			}
			if len(last.Response) > outbound.MaxResponse {
				t.Errorf("%s: %d bytes of response kept, want at most %d", c.path, len(last.Response), outbound.MaxResponse)
			}
		}
		select {
		case <-landed:
			t.Error("the redirect was followed")
		default:
		}
	})
}

// TestSSRFGuard: without an allow-list, a target on a loopback or private
// address is refused at connect time, logged as such and not retried.
func TestSSRFGuard(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, fast)
		r := newReceiver(t)
		e.setup(`{"url":"`+r.url("/pb?c={clickid}")+`"}`, "")
		// A name that resolves to loopback is refused as well as the address.
		e.Create("/webhooks", `{"name":"local","url":"http://localhost:`+strings.Split(r.addr, ":")[1]+`/hook","enabled":true}`)
		e.postback("subid=" + e.click("x") + "&status=lead")
		e.waitFor("both jobs failed", func() bool { return len(e.jobs("state=failed")) == 2 })
		for _, j := range e.jobs("") {
			if !strings.Contains(j.LastReason, "refused") || !strings.Contains(j.LastReason, "loopback") || j.Attempts != 1 {
				t.Errorf("job %s: %d attempts, reason %q; want one refused attempt naming loopback", j.Target, j.Attempts, j.LastReason)
			}
		}
		if got := r.delivered(); len(got) != 0 {
			t.Errorf("the receiver got %d requests", len(got))
		}
		// Allowed by the setting, a retry goes through.
		allow(e)
		e.API("POST", "/outbound/retry", fmt.Sprintf(`{"target":"%s"}`, track.Target(track.TargetSource, e.source)), 200)
		e.waitFor("the retried job delivered", func() bool { return len(e.jobs("state=delivered")) == 1 })
	})
}

// TestWebhooks: the body says what happened and is signed with the
// webhook's secret as docs/outbound.md tells receivers to check.
func TestWebhooks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, fast)
		allow(e)
		const secret = "webhook-secret-0123456789"
		type call struct {
			event, status, click string
			signed               bool
			key                  string
		}
		calls := make(chan call, 64)
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			sig := r.Header.Get("X-Trackd-Signature") // t=TS,v1=HEX
			ts, mac, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",v1=")
			m := hmac.New(sha256.New, []byte(secret))
			io.WriteString(m, ts+".")
			m.Write(body)
			var v struct {
				Event      string
				Conversion struct{ Status string }
				Click      struct {
					ExternalID string `json:"external_id"`
				}
			}
			json.Unmarshal(body, &v)
			calls <- call{v.Event, v.Conversion.Status, v.Click.ExternalID,
				hmac.Equal([]byte(mac), []byte(hex.EncodeToString(m.Sum(nil)))), r.Header.Get("Idempotency-Key")}
		})}
		go srv.Serve(ln)
		defer srv.Close()
		e.Create("/webhooks", `{"name":"mine","url":"http://`+ln.Addr().String()+`/","enabled":true,"secret":"`+secret+`"}`)
		e.Create("/webhooks", `{"name":"off","url":"http://`+ln.Addr().String()+`/off","enabled":false}`)
		e.setup("", "")
		id := e.click("E1")
		e.postback("subid=" + id + "&status=lead&payout=2")
		e.postback("subid=" + id + "&status=sale")
		var got []call
		for range 2 {
			select {
			case c := <-calls:
				got = append(got, c)
			case <-time.After(30 * time.Second):
				t.Fatalf("webhook calls: %+v, want 2", got)
			}
		}
		if got[0].event != "conversion.created" || got[0].status != "lead" || got[1].event != "conversion.updated" ||
			got[1].status != "sale" || !got[0].signed || !got[1].signed || got[0].key == got[1].key || got[0].key == "" ||
			got[0].click != "E1" {
			t.Errorf("webhook calls %+v: want created/lead then updated/sale, both signed, distinct idempotency keys", got)
		}
		// A conversion's changes reach a target in order, however close.
		const n = 16
		for i := range n {
			id := e.click(fmt.Sprint("O", i))
			e.postback("subid=" + id + "&status=lead&payout=1")
			e.postback("subid=" + id + "&status=sale")
		}
		seen := map[string]string{}
		for range 2 * n {
			select {
			case c := <-calls:
				if c.status == "sale" && seen[c.click] != "lead" {
					t.Errorf("click %s: the sale reached the webhook before the lead", c.click)
				}
				seen[c.click] = c.status
			case <-time.After(30 * time.Second):
				t.Fatalf("webhook calls: %d of %d", len(seen), n)
			}
		}
		// An admin sees the secret, a viewer does not.
		if body := e.API("GET", "/webhooks", "", 200); !strings.Contains(body, secret) {
			t.Errorf("an admin does not see the webhook secret: %s", body)
		}
		viewer := track.APIKey{Name: "viewer", Role: track.RoleViewer}
		if err := db.CreateAPIKey(context.Background(), &viewer); err != nil {
			t.Fatal(err)
		}
		admin := e.Key
		e.Key = viewer.Key
		if body := e.API("GET", "/webhooks", "", 200); strings.Contains(body, secret) || !strings.Contains(body, "mine") {
			t.Errorf("a viewer sees the webhook secret: %s", body)
		}
		e.Key = admin
	})
}

// TestPauseAndResume: a target that keeps failing is paused with a
// visible reason, its jobs wait (not given up), a probe finds it back and
// its backlog goes out; a pause by hand holds jobs until resumed.
func TestPauseAndResume(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		o := fast
		o.PauseAfter = 3
		e := newEnv(t, db, o)
		allow(e)
		r := newReceiver(t)
		e.setup(`{"url":"`+r.url("/pb?c={clickid}")+`"}`, "")
		target := track.Target(track.TargetSource, e.source)
		targets := func() []track.OutboundTarget {
			var v struct{ Items []track.OutboundTarget }
			json.Unmarshal([]byte(e.API("GET", "/outbound/targets", "", 200)), &v)
			return v.Items
		}
		r.set("down")
		for i := range 5 {
			e.postback("subid=" + e.click(fmt.Sprint(i)) + "&status=lead")
		}
		e.waitFor("the target paused", func() bool { ts := targets(); return len(ts) == 1 && ts[0].Paused })
		ts := targets()
		if !ts[0].AutoPaused || !strings.Contains(ts[0].Reason, "3 failed deliveries") || ts[0].Pending != 5 {
			t.Errorf("paused target %+v: want auto-paused after 3 failures, 5 jobs pending", ts[0])
		}
		r.set("up")
		e.waitFor("the backlog delivered after a probe", func() bool { return len(e.jobs("state=delivered")) == 5 })
		if ts := targets(); ts[0].Paused || ts[0].Failures != 0 {
			t.Errorf("target after recovery %+v: want resumed, no failures", ts[0])
		}

		e.API("POST", "/outbound/targets/"+target+"/pause", "", 204)
		e.postback("subid=" + e.click("later") + "&status=lead")
		time.Sleep(200 * time.Millisecond) // ten polls of the queue
		if js := e.jobs("state=pending"); len(js) != 1 || js[0].Attempts != 0 {
			t.Fatalf("while paused by hand: pending %+v, want one job never tried", js)
		}
		e.API("POST", "/outbound/targets/"+target+"/resume", "", 204)
		e.waitFor("the held job delivered", func() bool { return len(e.jobs("state=delivered")) == 6 })

		for _, bad := range []string{"nope", "source:x", "source:", "webhook:1:2"} {
			e.API("POST", "/outbound/targets/"+url.PathEscape(bad)+"/pause", "", 400)
		}
	})
}

// TestTemplates: a campaign's own postback beside or instead of its
// source's, first conversion only, POST bodies and headers, the test
// endpoint, and templates refused when saved.
func TestTemplates(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, fast)
		allow(e)
		r := newReceiver(t)
		e.setup(`{"url":"`+r.url("/source?c={external_id}&s={status}")+`","statuses":["lead","sale","rebill"],"first_conversion_only":true}`,
			`{"url":"`+r.url("/campaign")+`","method":"POST","statuses":["lead","sale","rebill"],
			"body":"{\"id\":\"{_external_id}\",\"p\":{payout},\"tid\":\"{_tid}\"}","headers":{"X-Token":"t-{campaign_id}"}}`)
		id := e.click("E7")
		e.postback("subid=" + id + "&status=lead&payout=4&tid=A")
		e.postback("subid=" + id + "&status=sale&payout=4&tid=B") // an upsell: a new conversion
		e.waitFor("three deliveries", func() bool { return len(r.delivered()) == 3 })
		var source, campaign int
		for _, req := range r.delivered() {
			switch req.URL.Path {
			case "/source":
				source++
				if req.URL.RawQuery != "c=E7&s=lead" || req.Method != "GET" {
					t.Errorf("source postback %s %s", req.Method, req.URL)
				}
			case "/campaign":
				campaign++
				r.mu.Lock()
				body := r.body[req]
				r.mu.Unlock()
				if req.Method != "POST" || req.Header.Get("X-Token") != fmt.Sprintf("t-%d", e.camp) ||
					req.Header.Get("Content-Type") != "application/json" || !strings.Contains(body, `"id":"E7","p":4`) {
					t.Errorf("campaign postback %s %v %s", req.Method, req.Header, body)
				}
			}
		}
		if source != 1 || campaign != 2 {
			t.Errorf("%d source and %d campaign postbacks, want 1 (first conversion only) and 2", source, campaign)
		}

		// The test endpoint expands without sending, or sends.
		conv := e.jobs("target=" + track.Target(track.TargetSource, e.source))[0].ConversionID
		var res outbound.TestResult
		json.Unmarshal([]byte(e.API("POST", "/outbound/test", fmt.Sprintf(`{"conversion_id":%d,"postback":{"url":"https://x.example/?p={payout}&s={status:lead=1}"}}`, conv), 200)), &res)
		if res.URL != "https://x.example/?p=4&s=1" || !res.Fires || res.Attempt != nil {
			t.Errorf("test expansion %+v", res)
		}
		json.Unmarshal([]byte(e.API("POST", "/outbound/test", fmt.Sprintf(`{"conversion_id":%d,"target":"%s","send":true}`,
			conv, track.Target(track.TargetSource, e.source)), 200)), &res)
		if res.Attempt == nil || res.Attempt.Outcome != "delivered" || !strings.HasSuffix(res.URL, "/source?c=E7&s=lead") {
			t.Errorf("test send %+v", res)
		}

		// Replacing the source's postback; refused templates.
		e.API("PATCH", fmt.Sprintf("/campaigns/%d", e.camp), `{"postback":{"url":"`+r.url("/only")+`","replace_source":true}}`, 200)
		e.postback("subid=" + e.click("E8") + "&status=lead")
		e.waitFor("the replacing postback", func() bool {
			for _, req := range r.delivered() {
				if req.URL.Path == "/only" {
					return true
				}
			}
			return false
		})
		if js := e.jobs("target=" + track.Target(track.TargetSource, e.source)); len(js) != 1 {
			t.Errorf("%d source jobs, want 1: the campaign replaces the source's postback", len(js))
		}
		for _, c := range []struct{ body, field string }{
			{`{"name":"X","postback":{"url":"https://x.example/?a={nosuch}"}}`, "postback.url"},
			{`{"name":"X","postback":{"url":"ftp://x.example/"}}`, "postback.url"},
			{`{"name":"X","postback":{"url":"https://x.example/","statuses":["won"]}}`, "postback.statuses[0]"},
			{`{"name":"X","postback":{"url":"https://x.example/","body":"{x}"}}`, "postback.body"},
			{`{"name":"X","postback":{"url":"https://x.example/","method":"POST","headers":{"Bad Name":"v"}}}`, "postback.headers"},
			{`{"name":"X","postback":{"url":"https://x.example/","method":"POST","headers":{"X-A":"{nope}"}}}`, "postback.headers.X-A"},
		} {
			if body := e.API("POST", "/traffic-sources", c.body, 422); !strings.Contains(body, `"field":"`+c.field+`"`) {
				t.Errorf("%s: %s, want field %s", c.body, body, c.field)
			}
		}
		e.API("POST", "/webhooks", `{"name":"W","url":"file:///etc/passwd"}`, 422)
		e.API("POST", "/webhooks", `{"name":"W","url":"https://x.example/","events":["click"]}`, 422)
		e.API("POST", "/outbound/test", fmt.Sprintf(`{"conversion_id":999999,"target":"source:%d"}`, e.source), 404)
		e.API("POST", "/outbound/test", `{"target":"source:1"}`, 422)
		e.API("GET", "/outbound?state=lost", "", 400)
		e.API("POST", "/outbound/retry", `{}`, 400)
	})
}

// TestPerHostLimit: however many of a host's jobs are due, no more than
// PerHost deliveries reach it at once.
func TestPerHostLimit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		o := fast
		o.PerHost = 2
		e := newEnv(t, db, o)
		allow(e)
		var (
			mu        sync.Mutex
			now, peak int
			done      int
		)
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			now++
			peak = max(peak, now)
			mu.Unlock()
			time.Sleep(30 * time.Millisecond)
			mu.Lock()
			now--
			done++
			mu.Unlock()
		})}
		go srv.Serve(ln)
		defer srv.Close()
		e.setup(`{"url":"http://`+ln.Addr().String()+`/pb?t={tid}"}`, "")
		e.API("POST", "/outbound/targets/"+track.Target(track.TargetSource, e.source)+"/pause", "", 204)
		for i := range 12 {
			e.postback(fmt.Sprintf("subid=%s&status=lead&tid=%d", e.click("x"), i))
		}
		e.API("POST", "/outbound/targets/"+track.Target(track.TargetSource, e.source)+"/resume", "", 204)
		e.waitFor("12 deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return done == 12 })
		if peak > 2 {
			t.Errorf("%d deliveries at once to one host, want at most 2", peak)
		}
	})
}
