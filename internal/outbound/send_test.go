package outbound

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// receiver starts an HTTP server with handler h, closed at the end of t.
func receiver(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// loopbackSender is a Sender that may reach local receivers.
func loopbackSender(t *testing.T, timeout time.Duration) *Sender {
	t.Helper()
	s := NewSender(NewGuard(loopbackAllowed), timeout)
	t.Cleanup(s.CloseIdleConnections)
	return s
}

// sendBounded calls Send and fails the test if it has not returned after
// a minute (a hang, not a slow machine).
func sendBounded(t *testing.T, s *Sender, r Request) Attempt {
	t.Helper()
	done := make(chan Attempt, 1)
	go func() { done <- s.Send(context.Background(), r) }()
	select {
	case a := <-done:
		return a
	case <-time.After(time.Minute):
		t.Fatalf("Send(%s %s) did not return", r.Method, r.URL)
		return Attempt{}
	}
}

func TestSendDelivered(t *testing.T) {
	type seen struct {
		method, body, path string
		header             http.Header
	}
	got := make(chan seen, 1)
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, string(b), r.URL.RequestURI(), r.Header.Clone()}
		w.Write([]byte(`{"ok":true}`))
	})
	s := loopbackSender(t, 0)
	a := sendBounded(t, s, Request{
		Method:         "POST",
		URL:            srv.URL + "/pb?cid=abc&payout=1.5",
		Header:         map[string]string{"X-Token": "secret", "authorization": "Bearer t"},
		Body:           []byte(`{"click_id":"abc"}`),
		IdempotencyKey: "job-42",
	})
	if a.Outcome != Delivered || a.StatusCode != 200 || a.Reason != "200 OK" || a.Response != `{"ok":true}` {
		t.Errorf("Send = %+v, want Delivered 200 OK with the body", a)
	}
	if a.Latency <= 0 || a.RetryAfter != 0 {
		t.Errorf("Latency %v, RetryAfter %v: want > 0 and 0", a.Latency, a.RetryAfter)
	}
	r := <-got
	if r.method != "POST" || r.path != "/pb?cid=abc&payout=1.5" || r.body != `{"click_id":"abc"}` {
		t.Errorf("receiver saw %s %s %q", r.method, r.path, r.body)
	}
	for k, want := range map[string]string{
		"Idempotency-Key": "job-42",
		"User-Agent":      "trackd (postback)",
		"Content-Type":    "application/json",
		"X-Token":         "secret",
		"Authorization":   "Bearer t",
	} {
		if v := r.header.Get(k); v != want {
			t.Errorf("receiver saw %s: %q, want %q", k, v, want)
		}
	}
}

func TestSendHeaders(t *testing.T) {
	got := make(chan *http.Request, 4)
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Clone(context.Background())
	})
	s := loopbackSender(t, 0)

	// The caller's Content-Type (any case) wins; its User-Agent too.
	sendBounded(t, s, Request{Method: "post", URL: srv.URL, Body: []byte("a=1"),
		Header: map[string]string{"content-type": "application/x-www-form-urlencoded", "User-Agent": "custom"}})
	r := <-got
	if r.Method != "POST" || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.UserAgent() != "custom" {
		t.Errorf("receiver saw %s, Content-Type %q, User-Agent %q", r.Method, r.Header.Get("Content-Type"), r.UserAgent())
	}

	// A GET: no Content-Type, no Idempotency-Key when empty.
	a := sendBounded(t, s, Request{Method: "GET", URL: srv.URL + "/?x=1"})
	r = <-got
	if a.Outcome != Delivered || r.Method != "GET" || r.Header.Get("Content-Type") != "" || r.Header["Idempotency-Key"] != nil {
		t.Errorf("GET: %+v; receiver saw %s with headers %v", a, r.Method, r.Header)
	}

	// No method: POST with a body, GET without.
	sendBounded(t, s, Request{URL: srv.URL, Body: []byte("{}")})
	if r = <-got; r.Method != "POST" {
		t.Errorf("no method, a body: receiver saw %s, want POST", r.Method)
	}

	for _, h := range []map[string]string{{"X-Bad": "a\r\nInjected: 1"}, {"Bad Name": "x"}, {"": "x"}} {
		if a := sendBounded(t, s, Request{Method: "GET", URL: srv.URL, Header: h}); a.Outcome != Fail {
			t.Errorf("header %q: %+v, want Fail", h, a)
		}
	}
	if a := sendBounded(t, s, Request{Method: "DELETE", URL: srv.URL}); a.Outcome != Fail || !strings.Contains(a.Reason, "method") {
		t.Errorf("DELETE: %+v, want Fail naming the method", a)
	}
	if len(got) != 0 {
		t.Errorf("receiver saw %d requests that should not have been sent", len(got))
	}
}

func TestSendStatus(t *testing.T) {
	tests := []struct {
		code   int
		header map[string]string
		want   Outcome
		reason string
		after  time.Duration
	}{
		{201, nil, Delivered, "201 Created", 0},
		{204, nil, Delivered, "204 No Content", 0},
		{500, nil, Retry, "500 Internal Server Error", 0},
		{502, nil, Retry, "502 Bad Gateway", 0},
		{503, map[string]string{"Retry-After": "120"}, Retry, "503 Service Unavailable", 2 * time.Minute},
		{408, nil, Retry, "408 Request Timeout", 0},
		{425, nil, Retry, "425 Too Early", 0},
		{429, map[string]string{"Retry-After": "7"}, Retry, "429 Too Many Requests", 7 * time.Second},
		{429, map[string]string{"Retry-After": "86400"}, Retry, "429 Too Many Requests", time.Hour},
		{429, map[string]string{"Retry-After": "soon"}, Retry, "429 Too Many Requests", 0},
		{500, map[string]string{"Retry-After": "7"}, Retry, "500 Internal Server Error", 0},
		{400, nil, Fail, "400 Bad Request", 0},
		{401, nil, Fail, "401 Unauthorized", 0},
		{404, nil, Fail, "404 Not Found", 0},
		{410, nil, Fail, "410 Gone", 0},
		{299, nil, Delivered, "299", 0},
		{304, nil, Fail, "redirect 304 not followed", 0},
	}
	for _, tt := range tests {
		srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
			for k, v := range tt.header {
				w.Header().Set(k, v)
			}
			w.WriteHeader(tt.code)
			if tt.code != 204 && tt.code != 304 {
				w.Write([]byte("answer"))
			}
		})
		a := sendBounded(t, loopbackSender(t, 0), Request{Method: "POST", URL: srv.URL, Body: []byte("{}")})
		if a.Outcome != tt.want || a.StatusCode != tt.code || a.Reason != tt.reason || a.RetryAfter != tt.after {
			t.Errorf("status %d %v: %+v, want %v %q RetryAfter %v", tt.code, tt.header, a, tt.want, tt.reason, tt.after)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                                 0,
		"0":                                0,
		"7":                                7 * time.Second,
		" 30 ":                             30 * time.Second,
		"3600":                             time.Hour,
		"3601":                             time.Hour,
		"99999999999999999999999":          time.Hour,
		"-5":                               0,
		"1.5":                              0,
		"Sat, 01 Mar 2025 12:01:30 GMT":    90 * time.Second,
		"Sat, 01 Mar 2025 11:00:00 GMT":    0,
		"Sun, 02 Mar 2025 12:00:00 GMT":    time.Hour,
		"Saturday, 01-Mar-25 12:00:10 GMT": 10 * time.Second,
		"garbage":                          0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestSendRedirectNotFollowed(t *testing.T) {
	var targetHits atomic.Int64
	target := receiver(t, func(w http.ResponseWriter, r *http.Request) { targetHits.Add(1) })
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/moved", http.StatusFound)
	})
	a := sendBounded(t, loopbackSender(t, 0), Request{Method: "GET", URL: srv.URL})
	if a.Outcome != Fail || a.StatusCode != 302 || !strings.HasPrefix(a.Reason, "redirect 302 not followed") ||
		!strings.Contains(a.Reason, target.URL+"/moved") {
		t.Errorf("302: %+v, want Fail, redirect 302 not followed, naming the Location", a)
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("the redirect's target saw %d requests", n)
	}

	long := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://example.com/"+strings.Repeat("x", 5000))
		w.WriteHeader(http.StatusMovedPermanently)
	})
	a = sendBounded(t, loopbackSender(t, 0), Request{Method: "GET", URL: long.URL})
	if a.Outcome != Fail || len(a.Reason) > 250 || !utf8.ValidString(a.Reason) {
		t.Errorf("301 with a long Location: %v, reason of %d bytes", a.Outcome, len(a.Reason))
	}
}

func TestSendTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(30 * time.Second):
		}
	})
	defer close(release) // before srv.Close, which waits for the handler
	a := sendBounded(t, loopbackSender(t, 200*time.Millisecond), Request{Method: "POST", URL: srv.URL, Body: []byte("{}")})
	if a.Outcome != Retry || a.StatusCode != 0 || a.Reason != "timeout after 200ms" {
		t.Errorf("hanging receiver: %+v, want Retry, timeout after 200ms", a)
	}
}

func TestSendBodyNeverEnds(t *testing.T) {
	release := make(chan struct{})
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(30 * time.Second):
		}
	})
	defer close(release)
	// The timeout ends the body's read; it is long enough for the headers
	// to come first on a busy machine.
	a := sendBounded(t, loopbackSender(t, time.Second), Request{Method: "GET", URL: srv.URL})
	// The receiver answered 200: it has the postback, whatever its body.
	if a.Outcome != Delivered || a.StatusCode != 200 || a.Response != "partial" {
		t.Errorf("body that never ends: %+v, want Delivered with %q", a, "partial")
	}
}

func TestSendEndlessBody(t *testing.T) {
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("0123456789abcdef", 4096))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	s := loopbackSender(t, 0)
	a := sendBounded(t, s, Request{Method: "GET", URL: srv.URL})
	if a.Outcome != Delivered || len(a.Response) != MaxResponse || !strings.HasPrefix(a.Response, "0123456789abcdef") {
		t.Errorf("endless body: %v %q, Response of %d bytes, want Delivered, %d bytes", a.Outcome, a.Reason, len(a.Response), MaxResponse)
	}
}

func TestSendConnectionReset(t *testing.T) {
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	a := sendBounded(t, loopbackSender(t, 0), Request{Method: "POST", URL: srv.URL, Body: []byte("{}"), IdempotencyKey: "k"})
	t.Logf("%+v", a)
	if a.Outcome != Retry || a.StatusCode != 0 ||
		(a.Reason != "connection reset" && a.Reason != "connection closed before the response") {
		t.Errorf("reset: %+v, want Retry, connection reset (or closed)", a)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	a := sendBounded(t, loopbackSender(t, 0), Request{Method: "GET", URL: "http://" + addr + "/"})
	if a.Outcome != Retry || a.StatusCode != 0 || a.Reason != "connection refused" {
		t.Errorf("closed port: %+v, want Retry, connection refused", a)
	}
}

func TestSendTLSError(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake error it logs
	srv.StartTLS()
	defer srv.Close()
	// The test server's certificate is not trusted by the Sender.
	a := sendBounded(t, loopbackSender(t, 0), Request{Method: "GET", URL: srv.URL})
	t.Logf("%+v", a)
	if a.Outcome != Retry || a.StatusCode != 0 || !strings.Contains(a.Reason, "certificate") || strings.Contains(a.Reason, srv.URL) {
		t.Errorf("untrusted certificate: %+v, want Retry naming the certificate", a)
	}
}

func TestSendGuardRefuses(t *testing.T) {
	var hits atomic.Int64
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	s := NewSender(NewGuard(nil), 0) // no allow-list
	defer s.CloseIdleConnections()

	a := sendBounded(t, s, Request{Method: "POST", URL: srv.URL, Body: []byte("{}")})
	if a.Outcome != Fail || a.StatusCode != 0 || a.Reason != "refused: 127.0.0.1 is a loopback address" {
		t.Errorf("127.0.0.1 with the default guard: %+v, want Fail, refused", a)
	}
	// A name that resolves to loopback, as a rebinding attack's would.
	if addrs, err := net.LookupHost("localhost"); err == nil && len(addrs) > 0 {
		a = sendBounded(t, s, Request{Method: "GET", URL: "http://localhost:" + port + "/"})
		if a.Outcome != Fail || !strings.HasPrefix(a.Reason, "refused: ") || !strings.Contains(a.Reason, "loopback") {
			t.Errorf("localhost with the default guard: %+v, want Fail, refused", a)
		}
	}
	// A nil guard is the default one.
	a = sendBounded(t, NewSender(nil, 0), Request{Method: "GET", URL: srv.URL})
	if a.Outcome != Fail || !strings.HasPrefix(a.Reason, "refused: ") {
		t.Errorf("nil guard: %+v, want Fail, refused", a)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("receiver saw %d requests", n)
	}
}

func TestSendBadURL(t *testing.T) {
	s := NewSender(nil, 0)
	for _, u := range []string{"ftp://x", "file:///etc/passwd", "x", "", "http://", "http://[::1", "gopher://127.0.0.1:70/"} {
		a := sendBounded(t, s, Request{Method: "GET", URL: u})
		if a.Outcome != Fail || a.StatusCode != 0 || a.Reason == "" {
			t.Errorf("URL %q: %+v, want Fail with a reason", u, a)
		}
	}
}

func TestSendInvalidUTF8(t *testing.T) {
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok \xff\xfe bad \xc3"))
	})
	a := sendBounded(t, loopbackSender(t, 0), Request{Method: "GET", URL: srv.URL})
	if a.Outcome != Delivered || !utf8.ValidString(a.Response) || !strings.HasPrefix(a.Response, "ok ") {
		t.Errorf("invalid UTF-8: %+v, want Delivered with valid UTF-8", a)
	}
}

func TestSnippet(t *testing.T) {
	euro := strings.Repeat("€", MaxResponse/3+1) // 3-byte runes: the limit cuts one
	for name, body := range map[string]string{
		"ascii":           strings.Repeat("a", MaxResponse),
		"cut rune":        euro[:MaxResponse],
		"invalid at end":  strings.Repeat("a", MaxResponse-1) + "\xff",
		"invalid, grows":  strings.Repeat("a\xff", MaxResponse/2),
		"short":           "é\xffz",
		"empty":           "",
		"valid multibyte": strings.Repeat("é", MaxResponse/2),
	} {
		s := snippet([]byte(body))
		if !utf8.ValidString(s) || len(s) > MaxResponse {
			t.Errorf("%s: snippet of %d bytes, valid %v", name, len(s), utf8.ValidString(s))
		}
		if utf8.ValidString(body) && len(body) <= MaxResponse && s != body {
			t.Errorf("%s: a valid body was changed", name)
		}
	}
	if s := snippet([]byte(euro[:MaxResponse])); strings.ContainsRune(s, utf8.RuneError) {
		t.Error("a rune cut by the limit became U+FFFD")
	}
}

func TestSendConcurrent(t *testing.T) {
	var n atomic.Int64
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(r.Header.Get("Idempotency-Key")))
	})
	s := loopbackSender(t, 0)
	var wg sync.WaitGroup
	var bad atomic.Int64
	for i := range 32 {
		wg.Go(func() {
			for j := range 10 {
				key := "k-" + string(rune('a'+i%26)) + "-" + string(rune('a'+j))
				a := s.Send(context.Background(), Request{Method: "POST", URL: srv.URL, Body: []byte("{}"), IdempotencyKey: key})
				if a.Outcome != Delivered || a.Response != key {
					bad.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 || n.Load() != 320 {
		t.Errorf("%d of 320 concurrent sends not delivered; receiver saw %d", bad.Load(), n.Load())
	}
}

func TestSendCanceled(t *testing.T) {
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := loopbackSender(t, 0).Send(ctx, Request{Method: "GET", URL: srv.URL})
	if a.Outcome != Retry || !strings.HasPrefix(a.Reason, "canceled") {
		t.Errorf("canceled context: %+v, want Retry, canceled", a)
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Delivered: "delivered", Retry: "retry", Fail: "failed", 0: "Outcome(0)"} {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
}
