package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Request is one outgoing HTTP request.
type Request struct {
	Method         string            // GET or POST; empty is POST with a body, else GET
	URL            string            // http or https
	Header         map[string]string // extra headers (template-expanded by the caller)
	Body           []byte
	IdempotencyKey string // sent as Idempotency-Key header, the same on every attempt of a job
}

// Outcome is what an attempt means for its job. The zero Outcome is none of
// them.
type Outcome int

const (
	Delivered Outcome = iota + 1 // the receiver took it (2xx)
	Retry                        // try again later
	Fail                         // permanent: do not retry
)

// String returns "delivered", "retry" or "failed".
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Fail:
		return "failed"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Attempt is the result of one Send.
type Attempt struct {
	Outcome    Outcome
	StatusCode int           // 0 when no HTTP answer
	Latency    time.Duration // from just before sending to the headers and the (capped) body read
	Response   string        // at most MaxResponse bytes of the body, made valid UTF-8
	Reason     string        // short human reason: "200 OK", "timeout after 5s", "connection refused", ...
	RetryAfter time.Duration // from a 429/503 Retry-After header, at most MaxRetryAfter; 0 when absent
}

const (
	// MaxResponse is how much of a response body an Attempt keeps.
	MaxResponse = 4096
	// MaxRetryAfter caps Attempt.RetryAfter.
	MaxRetryAfter = time.Hour
	// DefaultTimeout is the timeout of an attempt when NewSender is given 0.
	DefaultTimeout = 5 * time.Second

	userAgent  = "trackd (postback)"
	maxDrain   = 64 << 10 // read after MaxResponse so the connection is reused
	maxReason  = 200
	maxHeaders = 64 << 10
)

// Sender sends Requests over HTTP, connecting only where its Guard allows,
// never through a proxy and never following a redirect. It is safe for
// concurrent use; it keeps a pool of idle connections.
type Sender struct {
	timeout   time.Duration
	transport *http.Transport
	client    *http.Client
}

// NewSender returns a Sender whose connections g checks (a nil g refuses
// by default, with no allow-list) and whose attempts each last at most
// timeout (DefaultTimeout when 0 or less).
func NewSender(g *Guard, timeout time.Duration) *Sender {
	if g == nil {
		g = NewGuard(nil)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: g.Control}
	tr := &http.Transport{
		Proxy:                  nil, // never the environment's: it would bypass the guard
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxHeaders,
		// The body is kept as sent; asking for gzip would make the
		// snippet and the drain limit count decompressed bytes.
		DisableCompression: true,
	}
	return &Sender{
		timeout:   timeout,
		transport: tr,
		client: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// CloseIdleConnections closes the pooled connections: after the guard's
// allow-list shrank (pooled connections are not checked again) or at
// shutdown.
func (s *Sender) CloseIdleConnections() { s.transport.CloseIdleConnections() }

// Send makes one attempt of r. It returns within about the Sender's
// timeout (or when ctx ends, sooner), whatever the receiver does.
func (s *Sender) Send(ctx context.Context, r Request) Attempt {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := s.build(ctx, r)
	if err != nil {
		return Attempt{Outcome: Fail, Reason: shorten(err.Error(), maxReason)}
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		a := s.transportError(parent, err)
		a.Latency = time.Since(start)
		return a
	}
	// A body cut by the timeout (or a reset) keeps what came: the status
	// decides the outcome.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponse))
	latency := time.Since(start)
	io.CopyN(io.Discard, resp.Body, maxDrain)
	resp.Body.Close()

	a := Attempt{StatusCode: resp.StatusCode, Latency: latency, Response: snippet(body)}
	code := resp.StatusCode
	a.Reason = statusText(code)
	switch {
	case code >= 200 && code <= 299:
		a.Outcome = Delivered
	case code >= 300 && code <= 399:
		a.Outcome = Fail
		a.Reason = "redirect " + strconv.Itoa(code) + " not followed"
		if loc := resp.Header.Get("Location"); loc != "" {
			a.Reason += " (Location: " + shorten(loc, 150) + ")"
		}
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests,
		code >= 500 && code <= 599:
		a.Outcome = Retry
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			a.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	default: // other 4xx, and codes outside 200-599
		a.Outcome = Fail
	}
	return a
}

// build makes the http.Request of r, or says why it cannot be sent.
func (s *Sender) build(ctx context.Context, r Request) (*http.Request, error) {
	method := strings.ToUpper(strings.TrimSpace(r.Method))
	switch method {
	case "":
		method = http.MethodGet
		if len(r.Body) > 0 {
			method = http.MethodPost
		}
	case http.MethodGet, http.MethodPost:
	default:
		return nil, fmt.Errorf("method %q not supported: GET or POST", shorten(r.Method, 20))
	}
	raw := strings.TrimSpace(r.URL)
	u, err := url.Parse(raw)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		if u.Scheme == "" {
			return nil, errors.New("invalid URL: no scheme (http or https)")
		}
		return nil, fmt.Errorf("scheme %q not supported: http or https", shorten(u.Scheme, 20))
	}
	if u.Hostname() == "" {
		return nil, errors.New("invalid URL: no host")
	}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, raw, body)
	if err != nil {
		return nil, fmt.Errorf("invalid request: %v", err)
	}
	req.Header.Set("User-Agent", userAgent)
	if r.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.IdempotencyKey)
	}
	if method == http.MethodPost && len(r.Body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
		if !validHeaderName(k) {
			return nil, fmt.Errorf("invalid header name %q", shorten(k, 40))
		}
		if !validHeaderValue(v) {
			return nil, fmt.Errorf("invalid value of header %s: control characters", shorten(k, 40))
		}
		if http.CanonicalHeaderKey(k) == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return req, nil
}

// transportError is the Attempt of a request that got no HTTP answer.
func (s *Sender) transportError(parent context.Context, err error) Attempt {
	if ref, ok := errors.AsType[*refusal](err); ok {
		return Attempt{Outcome: Fail, Reason: shorten("refused: "+ref.Error(), maxReason)}
	}
	a := Attempt{Outcome: Retry}
	var ne net.Error
	switch {
	case parent.Err() != nil:
		// The caller's context ended (shutdown, or its own deadline).
		a.Reason = "canceled: " + parent.Err().Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		a.Reason = "timeout after " + s.timeout.String()
	case errors.Is(err, syscall.ECONNREFUSED):
		a.Reason = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		a.Reason = "connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		a.Reason = "connection closed before the response"
	default:
		if de, ok := errors.AsType[*net.DNSError](err); ok {
			a.Reason = "DNS lookup of " + de.Name + " failed: " + de.Err
			break
		}
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // its text repeats the URL, which may hold secrets
		}
		a.Reason = err.Error()
	}
	a.Reason = shorten(a.Reason, maxReason)
	return a
}

// statusText is "200 OK", or "599" for a code with no standard text.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (after now). It is 0 when absent, invalid or past, at most MaxRetryAfter.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if errors.Is(err, strconv.ErrRange) {
			return MaxRetryAfter
		}
		if err != nil {
			return 0
		}
		return time.Duration(min(n, uint64(MaxRetryAfter/time.Second))) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter)
}

// snippet is body as valid UTF-8 of at most MaxResponse bytes: a rune cut by
// the limit is dropped, invalid bytes become U+FFFD.
func snippet(body []byte) string {
	if len(body) >= MaxResponse {
		body = body[:MaxResponse]
		// Drop a last rune the limit cut (or an invalid tail: no loss).
		for i := 1; i < utf8.UTFMax && i <= len(body); i++ {
			if utf8.RuneStart(body[len(body)-i]) {
				if !utf8.FullRune(body[len(body)-i:]) {
					body = body[:len(body)-i]
				}
				break
			}
		}
	}
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	return cutRunes(s, MaxResponse)
}

// shorten makes s valid UTF-8 of at most n bytes, marking a cut with "…".
func shorten(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	return cutRunes(s, n-len("…")) + "…"
}

// cutRunes returns the longest prefix of the valid UTF-8 s of at most n
// bytes that ends on a rune boundary.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// validHeaderName reports whether k is an HTTP token (RFC 9110 5.1).
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v has no control characters but tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
