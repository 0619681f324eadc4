package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// SessionCookie is the cookie of a web UI session. It goes only to the API
// (Path), never to campaign links, and never to another site's requests
// (SameSite=Strict).
const SessionCookie = "trackd_session"

// SessionTTL is how long a session lasts after its login.
const SessionTTL = 24 * time.Hour

// Login is the body of POST /session.
type Login struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// PasswordChange is the body of POST /session/password.
type PasswordChange struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

// Whoami says who a request authenticates as.
type Whoami struct {
	Login string `json:"login,omitempty"`
	// APIKey is the name of the key, for a request with one.
	APIKey string `json:"api_key,omitempty"`
	Role   string `json:"role"`
	// ExpiresAt is when the session ends (in the answer to a login).
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (a *API) sessionRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/session", Handler: a.login,
			Summary: "Log in with a user's login and password: sets the session cookie of the web UI",
			In:      Login{}, Out: Whoami{}},
		{Method: "GET", Path: "/session", Role: track.RoleViewer, Handler: a.whoami,
			Summary: "Who the request authenticates as: a user's session or an API key", Out: Whoami{}},
		{Method: "DELETE", Path: "/session", Role: track.RoleViewer, Handler: a.logout,
			Summary: "Log out: ends the session of the cookie", Status: http.StatusNoContent},
		{Method: "POST", Path: "/session/password", Role: track.RoleViewer, Handler: a.changePassword,
			Summary: "Change the logged-in user's own password: ends every session of the user and starts a new one here",
			In:      PasswordChange{}, Out: Whoami{}},
	}
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	if err := a.csrf.Check(r); err != nil {
		return errCrossOrigin
	}
	ip := a.clientIP(r)
	if wait := a.limiter.blocked(ip); wait > 0 {
		return tooManyFailures(wait)
	}
	var in Login
	if err := decode(w, r, &in); err != nil {
		return err
	}
	switch {
	case in.Login == "":
		return track.Invalid("login", "is required")
	case in.Password == "":
		return track.Invalid("password", "is required")
	case len(in.Login) > 200 || len(in.Password) > 200:
		a.limiter.fail(ip)
		return errBadLogin
	}
	u, err := a.checkPassword(r, in.Login, in.Password)
	if errors.Is(err, track.ErrBadCredentials) {
		a.limiter.fail(ip)
		return errBadLogin
	}
	if err != nil {
		return err
	}
	return a.startSession(w, r, u)
}

// checkPassword checks login's password. The check is slow on purpose
// (PBKDF2, 600,000 rounds: about a tenth of a second of CPU here); one at a
// time, so that a flood of logins cannot take the click path's processors.
func (a *API) checkPassword(r *http.Request, login, password string) (track.User, error) {
	select {
	case a.checking <- struct{}{}:
	case <-r.Context().Done():
		return track.User{}, r.Context().Err()
	}
	defer func() { <-a.checking }()
	return a.db.CheckUserPassword(r.Context(), login, password)
}

// startSession starts a session of u and sets its cookie.
func (a *API) startSession(w http.ResponseWriter, r *http.Request, u track.User) error {
	token, expires, err := a.db.CreateSession(r.Context(), u.ID, SessionTTL)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: Prefix, Expires: expires,
		MaxAge: int(SessionTTL / time.Second), HttpOnly: true, Secure: a.secure(r), SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, Whoami{Login: u.Login, Role: u.Role, ExpiresAt: &expires})
	return nil
}

// changePassword changes the logged-in user's password after checking the
// current one (counted as a guess when wrong). The new password ends every
// session of the user, this one included; a new one starts here.
func (a *API) changePassword(w http.ResponseWriter, r *http.Request) error {
	login, ok := r.Context().Value(loginContext{}).(string)
	if !ok {
		return track.Invalid("session", "an API key has no password: log in as the user")
	}
	var in PasswordChange
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.Current == "" {
		return track.Invalid("current_password", "is required")
	}
	if err := track.CheckNewPassword("new_password", in.New); err != nil {
		return err
	}
	ip := a.clientIP(r)
	u, err := a.checkPassword(r, login, in.Current)
	if errors.Is(err, track.ErrBadCredentials) {
		a.limiter.fail(ip)
		return track.Invalid("current_password", "is wrong")
	}
	if err != nil {
		return err
	}
	u.Password = in.New
	if err := a.db.UpdateUser(r.Context(), &u); err != nil {
		return err
	}
	return a.startSession(w, r, u)
}

func (a *API) whoami(w http.ResponseWriter, r *http.Request) error {
	k, _ := keyFrom(r.Context())
	out := Whoami{Role: k.Role}
	if login, ok := r.Context().Value(loginContext{}).(string); ok {
		out.Login = login
	} else {
		out.APIKey = k.Name
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := a.db.DeleteSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Path: Prefix, MaxAge: -1, HttpOnly: true,
		Secure: a.secure(r), SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// secure says whether the session cookie must only travel over HTTPS:
// when trackd serves TLS itself, or when its public URL is https (a TLS
// proxy in front), so that a browser never sends it in clear.
func (a *API) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	s, err := a.db.Settings(r.Context())
	return err == nil && strings.HasPrefix(strings.ToLower(s.PublicURL), "https://")
}

var (
	errBadLogin = &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "wrong login or password"}
	errBadSession = &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
		Message: "the session has ended: log in again"}
	errCrossOrigin = &Error{Status: http.StatusForbidden, Code: "cross_origin",
		Message: "a request from another site may not use the session cookie"}
)
