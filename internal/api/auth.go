package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trackd/trackd/internal/click"
	"github.com/trackd/trackd/internal/track"
)

type keyContext struct{}

func withKey(ctx context.Context, k track.APIKey) context.Context {
	return context.WithValue(ctx, keyContext{}, k)
}

// keyFrom returns the API key that authenticated the request.
func keyFrom(ctx context.Context) (track.APIKey, bool) {
	k, ok := ctx.Value(keyContext{}).(track.APIKey)
	return k, ok
}

// bearer reads the key from "Authorization: Bearer KEY" or "Api-Key: KEY".
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, key, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(key)
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("Api-Key"))
}

type loginContext struct{}

// authenticate checks the request's API key or, without one, its session
// cookie; login is the user's of a session. A client that keeps sending
// bad keys is refused for a while without a look at the store. A request
// that a session authenticates must come from trackd's own pages if it
// changes anything (CSRF): browsers say where a request comes from.
func (a *API) authenticate(r *http.Request) (k track.APIKey, login string, err error) {
	ip := a.clientIP(r)
	if wait := a.limiter.blocked(ip); wait > 0 {
		return k, "", tooManyFailures(wait)
	}
	key := bearer(r)
	if key == "" {
		c, err := r.Cookie(SessionCookie)
		if err != nil {
			return k, "", &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
				Message: "missing API key: send Authorization: Bearer <key> or Api-Key: <key>, or log in (POST " + Prefix + "/session)"}
		}
		return a.session(r, c.Value)
	}
	if len(key) > 200 {
		a.limiter.fail(ip)
		return k, "", errBadKey
	}
	k, err = a.db.APIKeyByKey(r.Context(), key)
	if errors.Is(err, track.ErrBadCredentials) {
		a.limiter.fail(ip)
		return k, "", errBadKey
	}
	if err != nil {
		return k, "", err
	}
	if a.touched.due(k.ID) {
		if err := a.db.TouchAPIKey(r.Context(), k.ID); err != nil {
			a.log.Warn("record api key use", "key", k.ID, "err", err)
		}
	}
	return k, "", nil
}

// session authenticates a request by its session cookie's token. A token
// that fails is not counted against the client: it has 256 random bits,
// nothing to guess, and a stale cookie is what an expired session leaves.
func (a *API) session(r *http.Request, token string) (track.APIKey, string, error) {
	if err := a.csrf.Check(r); err != nil {
		return track.APIKey{}, "", errCrossOrigin
	}
	if len(token) > 200 {
		return track.APIKey{}, "", errBadSession
	}
	u, err := a.db.SessionUser(r.Context(), token)
	if errors.Is(err, track.ErrBadCredentials) {
		return track.APIKey{}, "", errBadSession
	}
	if err != nil {
		return track.APIKey{}, "", err
	}
	return track.APIKey{Name: "session of " + u.Login, Role: u.Role}, u.Login, nil
}

func tooManyFailures(wait time.Duration) error {
	return &Error{Status: http.StatusTooManyRequests, Code: "too_many_failures",
		Message: "too many failed authentications; retry in " + strconv.Itoa(int(wait.Seconds())+1) + "s"}
}

var errBadKey = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "invalid API key"}

// clientIP is the address failures are counted by: the peer's, or behind
// a trusted proxy (TrustedProxies) the last address that proxy saw the
// request from. A client cannot choose it: forwarding headers count only
// from the proxies the account trusts, read from the right.
func (a *API) clientIP(r *http.Request) string {
	if a.TrustedProxies != nil {
		if ip := click.ClientIP(r, a.TrustedProxies()); ip.IsValid() {
			return ip.String()
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// failureLimiter blocks a client after max failures within window.
type failureLimiter struct {
	max    int
	window time.Duration

	mu      sync.Mutex
	clients map[string]*failures
}

type failures struct {
	n     int
	since time.Time
}

func newFailureLimiter(max int, window time.Duration) *failureLimiter {
	return &failureLimiter{max: max, window: window, clients: map[string]*failures{}}
}

// blocked returns how long ip must still wait, or 0.
func (l *failureLimiter) blocked(ip string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.clients[ip]
	if f == nil || f.n < l.max {
		return 0
	}
	left := l.window - time.Since(f.since)
	if left <= 0 {
		delete(l.clients, ip)
		return 0
	}
	return left
}

// fail counts one failure of ip.
func (l *failureLimiter) fail(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.clients) > 100_000 {
		for k, f := range l.clients {
			if now.Sub(f.since) > l.window {
				delete(l.clients, k)
			}
		}
	}
	f := l.clients[ip]
	if f == nil || now.Sub(f.since) > l.window {
		f = &failures{since: now}
		l.clients[ip] = f
	}
	f.n++
}

// touchCache says when a key's last use is worth writing down again, so
// that reads do not each cost a write.
type touchCache struct {
	every time.Duration
	mu    sync.Mutex
	last  map[int64]time.Time
}

func newTouchCache(every time.Duration) *touchCache {
	return &touchCache{every: every, last: map[int64]time.Time{}}
}

func (c *touchCache) due(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Sub(c.last[id]) < c.every {
		return false
	}
	c.last[id] = now
	return true
}
