package postback

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/click"
	"github.com/trackd/trackd/internal/clickid"
	"github.com/trackd/trackd/internal/track"
)

// Timeout is how long a postback waits for its commit before it is
// answered 503 (the network retries; the commit, if it comes, makes the
// retry a duplicate).
const Timeout = 15 * time.Second

// maxRaw bounds the request text the log keeps.
const maxRaw = 8 << 10

// ServeHTTP answers GET|POST /postback and /{key}/postback. The answer is
// text: the outcome and its reason, or the postback's return parameter
// when it counted. Codes: 200 counted (created, updated, duplicate,
// ignored), 202 pending (click not in the store yet, retried), 400
// malformed, 401 no or wrong key, 403 refused by the network's rules, 404
// unknown click, 409 status change not allowed, 413 body too large, 422
// unmapped status or currency without a rate, 503 store unavailable: retry.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, res := s.serve(w, r, false)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(res.Status)
	if res.Status < 300 {
		if ret := req.Params.Get("return"); ret != "" {
			io.WriteString(w, cut(track.CleanText(ret), 200))
			return
		}
	}
	fmt.Fprintf(w, "%s: %s\n", res.Outcome, res.Reason)
}

// transparentGIF is a 1×1 transparent GIF.
var transparentGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00," +
	"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// ServePixel answers GET /pixel.gif: a conversion for the click in the
// trk_cid cookie (or a clickid parameter), for networks that cannot send
// postbacks. It always answers the image; the outcome is in the log and in
// the X-Trackd-Outcome header. The offer's network must allow pixels.
func (s *Service) ServePixel(w http.ResponseWriter, r *http.Request) {
	_, res := s.serve(w, r, true)
	w.Header().Set("Content-Type", "image/gif")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Trackd-Outcome", string(res.Outcome))
	w.Write(transparentGIF)
}

// pixelJS fires the pixel from a page: with the click id from the page's
// own URL (clickid or subid), which works where the tracker's cookie is
// blocked, and the script's own query parameters (status, payout...).
const pixelJS = `(function () {
  var me = document.currentScript, src = new URL(me.src), page = new URLSearchParams(location.search);
  var q = new URLSearchParams(src.search), id = page.get("clickid") || page.get("subid");
  if (id && !q.get("clickid")) q.set("clickid", id);
  new Image().src = src.origin + "/pixel.gif?" + q.toString();
})();
`

// ServePixelJS answers GET /pixel.js.
func (s *Service) ServePixelJS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	io.WriteString(w, pixelJS)
}

// serve parses a postback and, if it gets that far, processes it.
func (s *Service) serve(w http.ResponseWriter, r *http.Request, pixel bool) (*Request, Result) {
	req, res, ok := s.parse(w, r, pixel)
	if ok {
		ctx, cancel := context.WithTimeout(r.Context(), Timeout)
		res = s.Process(ctx, req)
		cancel()
	}
	return req, res
}

// parse reads, authenticates and checks a postback up to the click id.
// When ok is false, res is the answer (already logged).
func (s *Service) parse(w http.ResponseWriter, r *http.Request, pixel bool) (req *Request, res Result, ok bool) {
	snap := s.snap()
	req = &Request{At: s.now().UTC(), Method: r.Method, SourceIP: click.ClientIP(r, snap.TrustedProxies())}
	var body []byte
	if r.Method == http.MethodPost {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			req.Raw = rawRequest(r, nil)
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return req, s.Refuse(req, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", MaxBody)), false
			}
			return req, s.Refuse(req, http.StatusBadRequest, "could not read the body: "+err.Error()), false
		}
	}
	req.Raw = rawRequest(r, body)
	params, err := ParseParams(r.URL.RawQuery, r.Header.Get("Content-Type"), body)
	if err != nil {
		return req, s.Refuse(req, http.StatusBadRequest, err.Error()), false
	}
	req.Params = params

	var renames map[string]string
	switch key := r.PathValue("key"); {
	case pixel:
		req.Auth = AuthPixel
	case key != "" || params.Get("key") != "":
		if key == "" {
			key = params.Get("key")
		}
		if g := snap.Settings.PostbackKey; g != "" && subtle.ConstantTimeCompare([]byte(key), []byte(g)) == 1 {
			req.Auth = AuthKey
		} else if n := snap.NetworkByKey(key); n != nil {
			req.Auth, req.NetworkID, renames = AuthNetworkKey, n.ID, n.PostbackParams
		} else {
			return req, s.Refuse(req, http.StatusUnauthorized, "wrong postback key"), false
		}
	case params.Get("sig") != "" || r.Header.Get("X-Trackd-Signature") != "":
		req.Auth = AuthSignature
		req.Sig, req.SigTS = params.Get("sig"), params.Get("ts")
		if h := r.Header.Get("X-Trackd-Signature"); h != "" {
			req.Sig, req.SigTS = h, r.Header.Get("X-Trackd-Timestamp")
		}
		req.SigMessage = withoutParam(r.URL.RawQuery, "sig") + "\n" + string(body)
	default:
		return req, s.Refuse(req, http.StatusUnauthorized,
			"postback key missing: use /{postback_key}/postback, a key parameter or a signature"), false
	}

	raw, name := params.Canonical("clickid", renames)
	if raw == "" && renames == nil {
		// A network may call it anything: try every network's name.
		snap.Networks(func(n *click.Network) {
			if raw == "" {
				raw, name = params.Canonical("clickid", n.PostbackParams)
			}
		})
	}
	if raw == "" && pixel {
		if ck, err := r.Cookie(click.CookieClick); err == nil {
			raw, name = ck.Value, "cookie "+click.CookieClick
		}
	}
	switch {
	case raw == "":
		return req, s.Refuse(req, http.StatusBadRequest,
			"click id missing (clickid, click_id, subid, sub_id, cid or cnv_id, or the network's own name)"), false
	case Unsubstituted(raw):
		return req, s.Refuse(req, http.StatusBadRequest, fmt.Sprintf(
			"%s %q is a macro the network did not fill in: fix the postback URL in the network", name, cut(raw, 64))), false
	}
	id, err := s.ids.Parse(strings.TrimSpace(raw))
	switch {
	case errors.Is(err, clickid.ErrForged):
		return req, s.Refuse(req, http.StatusBadRequest, fmt.Sprintf(
			"%s %q fails verification: forged, mistyped, or issued by another trackd", name, cut(raw, 64))), false
	case err != nil:
		return req, s.Refuse(req, http.StatusBadRequest, fmt.Sprintf(
			"%s %q is not a trackd click id (32 letters and digits)", name, cut(raw, 64))), false
	}
	req.ClickID = id
	return req, Result{}, true
}

// rawRequest is the request as the log keeps it: the method, the path and
// query with the postback key masked, the content type and the body.
func rawRequest(r *http.Request, body []byte) string {
	path := r.URL.Path
	if key := r.PathValue("key"); key != "" {
		path = strings.Replace(path, key, "***", 1)
	}
	var b strings.Builder
	b.WriteString(r.Method + " " + path)
	if q := r.URL.RawQuery; q != "" {
		b.WriteString("?" + maskParam(q, "key"))
	}
	if len(body) > 0 {
		b.WriteString("\nContent-Type: " + r.Header.Get("Content-Type") + "\n\n")
		b.Write(body)
	}
	return cut(track.CleanText(b.String()), maxRaw)
}

// withoutParam drops every name=... pair from a raw query, keeping the
// others as they were sent.
func withoutParam(rawQuery, name string) string {
	parts := strings.Split(rawQuery, "&")
	out := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if k2, err := url.QueryUnescape(k); err == nil && k2 == name {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, "&")
}

// maskParam replaces the value of every name=... pair with ***.
func maskParam(rawQuery, name string) string {
	parts := strings.Split(rawQuery, "&")
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if k2, err := url.QueryUnescape(k); err == nil && k2 == name {
			parts[i] = k + "=***"
		}
	}
	return strings.Join(parts, "&")
}
