package api_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/trackd/trackd/internal/api"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// browser is a client with a cookie jar, as the web UI's browser is.
type browser struct {
	t    testing.TB
	e    *env
	http *http.Client
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{t: e.t, e: e, http: &http.Client{Jar: jar}}
}

// do sends a request; header holds name, value pairs.
func (b *browser) do(method, path, body string, header ...string) (int, string, *http.Response) {
	b.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.e.srv.URL+api.Prefix+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw), res
}

func TestSessionLogin(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		b := e.browser()
		expect := func(what string, status int, want string, got int, body string) {
			t.Helper()
			if got != status || !strings.Contains(body, want) {
				t.Errorf("%s: %d %s; want %d with %q", what, got, body, status, want)
			}
		}
		st, body, _ := b.do("GET", "/session", "")
		expect("before login", 401, "log in", st, body)
		st, body, _ = b.do("POST", "/session", `{"login":"admin"}`)
		expect("no password", 422, `"field":"password"`, st, body)
		st, body, _ = b.do("POST", "/session", `{"password":"x"}`)
		expect("no login", 422, `"field":"login"`, st, body)
		st, body, _ = b.do("POST", "/session", `{"login":"admin","password":"wrong password"}`)
		expect("wrong password", 401, "wrong login or password", st, body)
		st, body, _ = b.do("POST", "/session", `{"login":"admin","password":`)
		expect("malformed", 400, "error", st, body)

		st, body, res := b.do("POST", "/session", `{"login":"Admin","password":"admin password 123"}`)
		expect("login", 200, `"role":"admin"`, st, body)
		var cookie *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == api.SessionCookie {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != api.Prefix || len(cookie.Value) < 40 {
			t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Strict, Path=%s, a long token", cookie, api.Prefix)
		}
		if cookie.Secure {
			t.Error("the cookie is Secure on plain HTTP without an https public URL")
		}
		st, body, _ = b.do("GET", "/session", "")
		expect("whoami", 200, `"login":"admin"`, st, body)
		st, body, _ = b.do("GET", "/users", "")
		expect("an admin's session reads users", 200, `"items"`, st, body)

		// Writes with the cookie: from trackd's own page, yes; from
		// another site, no (the browser says which in Sec-Fetch-Site or
		// Origin).
		st, body, _ = b.do("POST", "/landings", `{"name":"LP","url":"https://lp.example/"}`, "Sec-Fetch-Site", "same-origin")
		expect("a write from the UI", 201, `"name":"LP"`, st, body)
		st, body, _ = b.do("POST", "/landings", `{"name":"evil","url":"https://lp.example/"}`, "Sec-Fetch-Site", "cross-site")
		expect("a cross-site write", 403, "cross_origin", st, body)
		st, body, _ = b.do("POST", "/landings", `{"name":"evil","url":"https://lp.example/"}`, "Origin", "https://evil.example")
		expect("a write with a foreign Origin", 403, "cross_origin", st, body)
		st, body, _ = b.do("POST", "/session", `{"login":"admin","password":"admin password 123"}`, "Sec-Fetch-Site", "cross-site")
		expect("a cross-site login", 403, "cross_origin", st, body)

		// A viewer's session has the viewer's rights.
		viewer := track.User{Login: "ann", Role: track.RoleViewer, Password: "ann's password"}
		if err := db.CreateUser(t.Context(), &viewer); err != nil {
			t.Fatal(err)
		}
		v := e.browser()
		st, body, _ = v.do("POST", "/session", `{"login":"ann","password":"ann's password"}`)
		expect("viewer login", 200, `"role":"viewer"`, st, body)
		st, body, _ = v.do("GET", "/landings", "")
		expect("viewer reads", 200, `"LP"`, st, body)
		st, body, _ = v.do("POST", "/landings", `{"name":"x","url":"https://lp.example/"}`, "Sec-Fetch-Site", "same-origin")
		expect("viewer writes", 403, "forbidden", st, body)

		// Logout ends the session: the old cookie is refused.
		st, _, _ = b.do("DELETE", "/session", "", "Sec-Fetch-Site", "same-origin")
		if st != 204 {
			t.Errorf("logout: %d, want 204", st)
		}
		// It is refused, and a stale cookie, sent again and again (a tab
		// left open), does not get its client blocked: tokens are not
		// guessable, so they are not counted as guesses.
		for i := 0; i < 30; i++ {
			req, _ := http.NewRequest("GET", e.srv.URL+api.Prefix+"/session", nil)
			req.AddCookie(cookie)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 401 {
				t.Fatalf("the cookie after logout, request %d: %d, want 401", i, res.StatusCode)
			}
		}
		if st, body, _ := b.do("POST", "/session", `{"login":"admin","password":"admin password 123"}`); st != 200 {
			t.Errorf("login after a stale cookie's requests: %d %s", st, body)
		}
		// Behind a TLS proxy (an https public URL) the cookie is Secure.
		if r := e.call("PATCH", "/settings", "admin", []byte(`{"public_url":"https://trk.example"}`)); r.status != 200 {
			t.Fatalf("set the public URL: %d %s", r.status, r.raw)
		}
		_, _, res = e.browser().do("POST", "/session", `{"login":"ann","password":"ann's password"}`)
		if c := res.Cookies(); len(c) != 1 || !c[0].Secure {
			t.Errorf("cookies with an https public URL: %v, want one Secure", c)
		}
		// An API key still wins over a cookie.
		if r := e.call("GET", "/session", "viewer", nil); r.status != 200 || r.obj()["api_key"] != "viewer key" {
			t.Errorf("whoami with a key: %d %s", r.status, r.raw)
		}
	})
}

func TestLoginBruteForceIsSlowedDown(t *testing.T) {
	e := newEnv(t, storetest.Open(t, store.SQLite))
	b := e.browser()
	limited := false
	for i := 0; i < 30; i++ {
		st, body, _ := b.do("POST", "/session", `{"login":"admin","password":"guess `+strings.Repeat("x", i)+`"}`)
		if st == 429 {
			limited = true
			break
		}
		if st != 401 {
			t.Fatalf("guess %d: %d %s, want 401 or 429", i, st, body)
		}
	}
	if !limited {
		t.Fatal("30 wrong passwords from one address were never refused with 429")
	}
	if st, _, _ := b.do("POST", "/session", `{"login":"admin","password":"admin password 123"}`); st != 429 {
		t.Errorf("the right password while blocked: %d, want 429", st)
	}
}

func TestChangeOwnPassword(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		ann := track.User{Login: "ann", Role: track.RoleViewer, Password: "first password"}
		if err := db.CreateUser(t.Context(), &ann); err != nil {
			t.Fatal(err)
		}
		b, other := e.browser(), e.browser()
		for _, c := range []*browser{b, other} {
			if st, body, _ := c.do("POST", "/session", `{"login":"ann","password":"first password"}`); st != 200 {
				t.Fatalf("login: %d %s", st, body)
			}
		}
		for _, tc := range []struct {
			body, field string
			status      int
		}{
			{`{"new_password":"second password"}`, "current_password", 422},
			{`{"current_password":"wrong password","new_password":"second password"}`, "current_password", 422},
			{`{"current_password":"first password","new_password":"short"}`, "new_password", 422},
		} {
			st, body, _ := b.do("POST", "/session/password", tc.body, "Sec-Fetch-Site", "same-origin")
			if st != tc.status || !strings.Contains(body, `"field":"`+tc.field+`"`) {
				t.Errorf("%s: %d %s; want %d naming %s", tc.body, st, body, tc.status, tc.field)
			}
		}
		if r := e.call("POST", "/session/password", "viewer", []byte(`{"current_password":"x","new_password":"second password"}`)); r.status != 422 {
			t.Errorf("with an API key: %d %s, want 422", r.status, r.raw)
		}
		st, body, _ := b.do("POST", "/session/password", `{"current_password":"first password","new_password":"second password"}`,
			"Sec-Fetch-Site", "same-origin")
		if st != 200 || !strings.Contains(body, `"login":"ann"`) {
			t.Fatalf("change: %d %s", st, body)
		}
		// This browser goes on with its new session; the other one is out.
		if st, _, _ := b.do("GET", "/session", ""); st != 200 {
			t.Errorf("the changing browser after the change: %d, want 200", st)
		}
		if st, _, _ := other.do("GET", "/session", ""); st != 401 {
			t.Errorf("another session after the change: %d, want 401", st)
		}
		if _, err := db.CheckUserPassword(t.Context(), "ann", "second password"); err != nil {
			t.Errorf("the new password does not check: %v", err)
		}
		// From another site, refused.
		if st, body, _ := b.do("POST", "/session/password", `{"current_password":"second password","new_password":"third password"}`,
			"Sec-Fetch-Site", "cross-site"); st != 403 {
			t.Errorf("a cross-site change: %d %s, want 403", st, body)
		}
	})
}
