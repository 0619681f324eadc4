// Package api is trackd's admin JSON API under /api/v1: CRUD over the
// configuration objects, authenticated by API keys, described by an OpenAPI
// document that a test holds to the route table.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/click"
	"github.com/trackd/trackd/internal/live"
	"github.com/trackd/trackd/internal/postback"
	"github.com/trackd/trackd/internal/preset"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

// API serves /api/v1.
type API struct {
	db      *store.DB
	log     *slog.Logger
	limiter *failureLimiter
	touched *touchCache
	csrf    *http.CrossOriginProtection
	version string
	// checking holds a place while a password is checked: one at a time.
	checking chan struct{}

	// OnConfigChange, when set, is called after every configuration change
	// made through the API, so that this node applies it at once.
	OnConfigChange func(ctx context.Context)
	// Simulator serves the test click; nil when no click path runs here.
	Simulator Simulator
	// Postbacks serves the conversion edits, imports, replays and test
	// postbacks; nil when no postback path runs here.
	Postbacks Postbacks
	// Outbound is the delivery queue; nil when it does not run here.
	Outbound Outbound
	// Live is the live feed's hub; nil for none.
	Live *live.Hub
	// TrustedProxies, when set, returns the proxies whose forwarding
	// headers name the client that failed authentications are counted by
	// (the click path's, from the account's settings); nil trusts none.
	TrustedProxies func() []netip.Prefix
}

// New returns the API over db; version appears in the OpenAPI document.
func New(db *store.DB, log *slog.Logger, version string) *API {
	return &API{
		db:      db,
		log:     log,
		version: version,
		limiter: newFailureLimiter(20, time.Minute),
		touched: newTouchCache(time.Minute),
		csrf:    http.NewCrossOriginProtection(),

		checking: make(chan struct{}, 1),
	}
}

// Route is one operation of the API.
type Route struct {
	Method string
	// Path is a net/http pattern path under Prefix, e.g. "/offers/{id}".
	Path string
	// Role is the least role that may call the route; "" is public.
	Role    string
	Handler func(w http.ResponseWriter, r *http.Request) error

	// What the OpenAPI document says of the route: a summary, a value of
	// the request body's type (nil for none), a value of the response's
	// type (nil for none) and the success status.
	Summary string
	In, Out any
	Status  int
	// Stream is the media type of a response that is not JSON but a
	// stream, such as "text/event-stream".
	Stream string
}

// Routes is the API's route table: the mux and the OpenAPI test read it.
func (a *API) Routes() []Route {
	const viewer, admin = track.RoleViewer, track.RoleAdmin
	var (
		rate     track.CurrencyRate
		settings track.Settings
	)
	var rs []Route
	rs = append(rs, Route{Method: "GET", Path: "/openapi.json", Handler: a.openAPI,
		Summary: "This document: the OpenAPI 3 description of the API", Out: map[string]any{}})
	rs = append(rs, a.sessionRoutes()...)
	rs = append(rs, a.sources().routes("/traffic-sources", viewer)...)
	rs = append(rs, a.networks().routes("/affiliate-networks", viewer)...)
	rs = append(rs, a.offers().routes("/offers", viewer)...)
	rs = append(rs, a.landings().routes("/landings", viewer)...)
	rs = append(rs, a.campaigns().routes("/campaigns", viewer)...)
	rs = append(rs, a.users().routes("/users", admin)...)
	rs = append(rs, a.apiKeys().routes("/api-keys", admin)...)
	rs = append(rs, a.webhooks().routes("/webhooks", viewer)...)
	rs = append(rs, a.outboundRoutes()...)
	rs = append(rs, a.reportRoutes()...)
	rs = append(rs, a.liveRoutes()...)
	rs = append(rs,
		Route{Method: "GET", Path: "/currency-rates", Role: viewer, Handler: a.listRates,
			Summary: "List currency rates to the account currency", Out: items[track.CurrencyRate]{}},
		Route{Method: "POST", Path: "/currency-rates", Role: admin, Handler: a.createRate,
			Summary: "Add the rate of a currency", In: rate, Out: rate, Status: http.StatusCreated},
		Route{Method: "GET", Path: "/currency-rates/{currency}", Role: viewer, Handler: a.getRate,
			Summary: "Get the rate of a currency", Out: rate},
		Route{Method: "PUT", Path: "/currency-rates/{currency}", Role: admin, Handler: a.putRate,
			Summary: "Set the rate of a currency (201 when new)", In: rate, Out: rate},
		Route{Method: "DELETE", Path: "/currency-rates/{currency}", Role: admin, Handler: a.deleteRate,
			Summary: "Delete the rate of a currency", Status: http.StatusNoContent},

		Route{Method: "GET", Path: "/settings", Role: viewer, Handler: a.getSettings,
			Summary: "Get the account settings (the postback key only for admins)", Out: settings},
		Route{Method: "PUT", Path: "/settings", Role: admin, Handler: a.putSettings,
			Summary: "Replace the account settings", In: settings, Out: settings},
		Route{Method: "PATCH", Path: "/settings", Role: admin, Handler: a.patchSettings,
			Summary: "Change the settings named in the body", In: settings, Out: settings},
		Route{Method: "POST", Path: "/settings/postback-key", Role: admin, Handler: a.rotatePostbackKey,
			Summary: "Replace the global postback key with a new random one", Out: settings},

		Route{Method: "GET", Path: "/presets/traffic-sources", Role: viewer, Handler: a.sourcePresets,
			Summary: "List traffic source presets; create a source with {\"preset\": key}", Out: items[preset.Source]{}},
		Route{Method: "GET", Path: "/presets/affiliate-networks", Role: viewer, Handler: a.networkPresets,
			Summary: "List affiliate network presets; create a network with {\"preset\": key}", Out: items[preset.Network]{}},
		Route{Method: "GET", Path: "/macros", Role: viewer, Handler: a.macros,
			Summary: "List the macros URL templates may use", Out: macroList{}},

		Route{Method: "GET", Path: "/clicks", Role: viewer, Handler: a.listClicks,
			Summary: "Click log, newest first; filters campaign_id, external_id, from, to (RFC 3339), before (paging), limit", Out: clickLog{}},
		Route{Method: "GET", Path: "/clicks/{click_id}", Role: viewer, Handler: a.getClick,
			Summary: "One click with its landing clicks", Out: clickDetail{}},
		Route{Method: "POST", Path: "/clicks/test", Role: viewer, Handler: a.testClick,
			Summary: "Simulate a click: which streams and filters pass, and where the visitor goes; records nothing",
			In:      click.TestClick{}, Out: click.TestResult{}},

		Route{Method: "GET", Path: "/conversions", Role: viewer, Handler: a.listConversions,
			Summary: "Conversion log, newest first; filters click_id, campaign_id, offer_id, status, from, to (conversion time, RFC 3339), before (paging), limit",
			Out:     page[track.Conversion]{}},
		Route{Method: "GET", Path: "/conversions/{id}", Role: viewer, Handler: getByID("conversion", a.db.Conversion),
			Summary: "One conversion", Out: track.Conversion{}},
		Route{Method: "PATCH", Path: "/conversions/{id}", Role: admin, Handler: a.editConversion,
			Summary: "Change a conversion's status (any change; logged as an EDIT postback)", In: statusEdit{}, Out: postback.Result{}},
		Route{Method: "POST", Path: "/conversions/import", Role: admin, Handler: a.importConversions,
			Summary: "Record conversions from text/csv lines clickid,payout,tid,status; the outcome of each line",
			Out:     items[postback.ImportLine]{}},
		Route{Method: "GET", Path: "/postbacks", Role: viewer, Handler: a.listPostbacks,
			Summary: "Incoming postback log, accepted or not, with the reason; filters click_id, outcome, from, to, before, limit",
			Out:     page[track.PostbackLogEntry]{}},
		Route{Method: "GET", Path: "/postbacks/{id}", Role: viewer, Handler: getByID("postback", a.db.PostbackLogEntry),
			Summary: "One incoming postback", Out: track.PostbackLogEntry{}},
		Route{Method: "POST", Path: "/postbacks/{id}/replay", Role: admin, Handler: a.replayPostback,
			Summary: "Process a logged postback again (after fixing a status mapping or a rate)", Out: postback.Result{}},
		Route{Method: "POST", Path: "/postbacks/test", Role: admin, Handler: a.testPostback,
			Summary: "Send a postback for a click through the real path (recorded and logged as TEST)",
			In:      postback.TestPostback{}, Out: postback.Result{}},
	)
	for i := range rs {
		if rs[i].Status == 0 {
			rs[i].Status = http.StatusOK
		}
	}
	return rs
}

// Handler returns the API's HTTP handler; mount it at Prefix.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range a.Routes() {
		mux.Handle(rt.Method+" "+Prefix+rt.Path, a.wrap(rt))
	}
	// Anything else under the prefix is a JSON 404, not the HTML one.
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, a.log, &Error{Status: http.StatusNotFound, Code: "not_found",
			Message: "no such API route: " + r.Method + " " + r.URL.Path})
	})
	return mux
}

// wrap authenticates, authorizes and runs a route, and writes its error.
func (a *API) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if rt.Role != "" {
			key, login, err := a.authenticate(r)
			if err != nil {
				writeError(w, r, a.log, err)
				return
			}
			if rt.Role == track.RoleAdmin && key.Role != track.RoleAdmin {
				writeError(w, r, a.log, &Error{Status: http.StatusForbidden, Code: "forbidden",
					Message: "the " + key.Role + " role may not " + strings.ToLower(r.Method) + " " + r.URL.Path})
				return
			}
			ctx := withKey(r.Context(), key)
			if login != "" {
				ctx = context.WithValue(ctx, loginContext{}, login)
			}
			r = r.WithContext(ctx)
		}
		if err := rt.Handler(w, r); err != nil {
			writeError(w, r, a.log, err)
			return
		}
		if r.Method != http.MethodGet && a.OnConfigChange != nil && !strings.HasPrefix(rt.Path, "/session") {
			a.OnConfigChange(r.Context())
		}
	})
}
