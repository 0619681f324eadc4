package api_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
)

func TestAuth(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.run([]step{
			{name: "no key", method: "GET", path: "/offers", status: 401, code: "unauthorized"},
			{name: "unknown key", method: "GET", path: "/offers", key: "bad", status: 401, code: "unauthorized"},
			{name: "admin reads", method: "GET", path: "/offers", key: "admin", status: 200, check: count(0)},
			{name: "viewer reads", method: "GET", path: "/offers", key: "viewer", status: 200},
			{name: "viewer may not write", method: "POST", path: "/landings", key: "viewer",
				body: `{"name":"x","url":"https://lp.example"}`, status: 403, code: "forbidden"},
			{name: "viewer may not list keys", method: "GET", path: "/api-keys", key: "viewer", status: 403},
			{name: "viewer may not list users", method: "GET", path: "/users", key: "viewer", status: 403},
			{name: "viewer does not see the postback key", method: "GET", path: "/settings", key: "viewer", status: 200,
				check: has("postback_key", "")},
			{method: "POST", path: "/affiliate-networks", key: "admin", status: 201,
				body: `{"name":"N","postback_key":"network-key-0123456789","signing_secret":"signing-secret-0123456789"}`},
			{name: "viewer sees no network key, secret or global key", method: "GET", path: "/affiliate-networks", key: "viewer",
				status: 200, check: func(t testing.TB, r response) {
					if strings.Contains(string(r.raw), "0123456789") || !strings.Contains(string(r.raw), "%7Bpostback_key%7D/postback") {
						t.Errorf("a viewer reads %s", r.raw)
					}
				}},
			{name: "admin sees them", method: "GET", path: "/affiliate-networks", key: "admin", status: 200,
				check: func(t testing.TB, r response) {
					if !strings.Contains(string(r.raw), "network-key-0123456789") || !strings.Contains(string(r.raw), "signing-secret-0123456789") {
						t.Errorf("an admin reads %s", r.raw)
					}
				}},
			{name: "the OpenAPI document is public", method: "GET", path: "/openapi.json", status: 200},
			{name: "unknown route is a JSON 404", method: "GET", path: "/nope", key: "admin", status: 404, code: "not_found"},
		})
		// Api-Key works as well as Authorization: Bearer.
		r := e.call("GET", "/offers", "", nil, "Api-Key", e.keys["viewer"])
		if r.status != 200 {
			t.Errorf("Api-Key header: status %d, want 200: %s", r.status, r.raw)
		}
		// A revoked key stops working at once.
		e.run([]step{
			{method: "POST", path: "/api-keys", key: "admin", body: `{"name":"ci","role":"viewer"}`, status: 201, save: "key",
				check: func(t testing.TB, r response) {
					k, _ := r.obj()["key"].(string)
					if !strings.HasPrefix(k, "trk_") || len(k) < 40 {
						t.Errorf("new key = %q, want trk_ and 256 bits", k)
					}
					e.keys["ci"] = k
				}},
			{method: "GET", path: "/offers", key: "ci", status: 200},
			{name: "the key is never shown again", method: "GET", path: "/api-keys/$key", key: "admin", status: 200,
				check: has("key", nil)},
			{method: "DELETE", path: "/api-keys/$key", key: "admin", status: 204},
			{method: "GET", path: "/offers", key: "ci", status: 401},
		})
	})
}

func TestBruteForceIsSlowedDown(t *testing.T) {
	e := newEnv(t, storetest.Open(t, store.SQLite))
	limited := false
	for i := 0; i < 30; i++ {
		r := e.call("GET", "/offers", "trk_guess", nil)
		if r.status == 429 {
			limited = true
			break
		}
		if r.status != 401 {
			t.Fatalf("guess %d: status %d, want 401 or 429", i, r.status)
		}
	}
	if !limited {
		t.Fatal("30 wrong keys from one address were never refused with 429")
	}
	// While blocked, even the right key waits: the attacker cannot tell.
	if r := e.call("GET", "/offers", "admin", nil); r.status != 429 {
		t.Errorf("good key while blocked: status %d, want 429", r.status)
	}
}

func TestTrafficSourcesAndNetworks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.run([]step{
			{method: "GET", path: "/presets/traffic-sources", key: "viewer", status: 200, check: func(t testing.TB, r response) {
				items, _ := r.obj()["items"].([]any)
				if len(items) < 7 {
					t.Errorf("%d traffic source presets, want at least 7", len(items))
				}
			}},
			{method: "GET", path: "/presets/affiliate-networks", key: "viewer", status: 200, check: func(t testing.TB, r response) {
				items, _ := r.obj()["items"].([]any)
				if len(items) < 6 {
					t.Errorf("%d network presets, want at least 6", len(items))
				}
			}},
			{name: "source from a preset", method: "POST", path: "/traffic-sources", key: "admin",
				body: `{"name":"Propeller","preset":"propellerads"}`, status: 201, save: "src", check: func(t testing.TB, r response) {
					params, _ := r.obj()["params"].([]any)
					if len(params) == 0 {
						t.Errorf("preset filled no params: %s", r.raw)
					}
					has("preset", "propellerads")(t, r)
				}},
			{name: "unknown preset", method: "POST", path: "/traffic-sources", key: "admin",
				body: `{"name":"x","preset":"nope"}`, status: 422, field: "preset"},
			{name: "own params", method: "POST", path: "/traffic-sources", key: "admin",
				body: `{"name":"Own","params":[{"slot":"external_id","param":"cid","macro":"{click_id}"},{"slot":"sub_id_3","param":"zone"}],
				"postback":{"url":"https://src.example/pb?cid={external_id}&p={payout}"}}`, status: 201, save: "own",
				check: func(t testing.TB, r response) {
					has("postback.method", "GET")(t, r)
					has("postback.statuses", []string{"lead", "sale"})(t, r)
					has("postback.payout_share_percent", 100)(t, r)
				}},
			{name: "unknown slot", method: "POST", path: "/traffic-sources", key: "admin",
				body: `{"name":"x","params":[{"slot":"sub_id_31","param":"a"}]}`, status: 422, field: "params[0].slot"},
			{name: "unknown macro in the postback", method: "POST", path: "/traffic-sources", key: "admin",
				body: `{"name":"x","postback":{"url":"https://s.example/?c={clikid}"}}`, status: 422, field: "postback.url"},
			{method: "PATCH", path: "/traffic-sources/$own", key: "admin", body: `{"name":"Own 2"}`, status: 200,
				check: func(t testing.TB, r response) {
					has("name", "Own 2")(t, r)
					has("params.1.param", "zone")(t, r) // untouched by the patch
				}},
			{method: "GET", path: "/traffic-sources", key: "viewer", status: 200, check: count(2)},
			{method: "DELETE", path: "/traffic-sources/$own", key: "admin", status: 204},
			{method: "GET", path: "/traffic-sources/$own", key: "admin", status: 404, code: "not_found"},

			{name: "network from a preset", method: "POST", path: "/affiliate-networks", key: "admin",
				body: `{"name":"EF","preset":"everflow"}`, status: 201, save: "net", check: func(t testing.TB, r response) {
					u, _ := r.obj()["postback_url"].(string)
					if !strings.Contains(u, "/postback?") || !strings.Contains(u, "clickid=") {
						t.Errorf("postback_url = %q, want a trackd postback URL with the network's macros", u)
					}
				}},
			{name: "bad allow-list", method: "POST", path: "/affiliate-networks", key: "admin",
				body: `{"name":"x","ip_allowlist":["10.0.0.0/8","not-an-ip"]}`, status: 422, field: "ip_allowlist[1]"},
			{name: "bad status mapping", method: "POST", path: "/affiliate-networks", key: "admin",
				body: `{"name":"x","statuses":{"approved":"paid"}}`, status: 422, field: "statuses.approved"},
			{name: "IPv6 allow-list and a mapping", method: "PUT", path: "/affiliate-networks/$net", key: "admin",
				body: `{"name":"EF","ip_allowlist":["2001:db8::/32","203.0.113.7"],"statuses":{"approved":"sale","pending":"lead"},
				"postback_params":{"clickid":"sub1"},"postback_macros":{"clickid":"{sub1}"}}`, status: 200,
				check: func(t testing.TB, r response) {
					has("ip_allowlist", []string{"2001:db8::/32", "203.0.113.7"})(t, r)
					has("statuses.approved", "sale")(t, r)
					has("duplicate_policy", "ignore")(t, r)
					u, _ := r.obj()["postback_url"].(string)
					if !strings.HasSuffix(u, "/postback?sub1={sub1}") {
						t.Errorf("postback_url = %q, want the renamed clickid param", u)
					}
				}},
		})
	})
}

func TestOffersLandingsCampaigns(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.run([]step{
			{method: "POST", path: "/affiliate-networks", key: "admin", body: `{"name":"Net"}`, status: 201, save: "net"},
			{method: "POST", path: "/offers", key: "admin", status: 201, save: "offer",
				body: `{"name":"Offer A","url":"https://offer.example/?aff_sub={clickid}&s2={sub_id_2}","affiliate_network_id":$net,
				"payout":{"type":"fixed","amount":"12.50","currency":"eur"}}`,
				check: func(t testing.TB, r response) {
					has("payout.amount", 12.5)(t, r)
					has("payout.currency", "EUR")(t, r)
					if !strings.Contains(string(r.raw), `"amount":12.5`) {
						t.Errorf("amount is not written as an exact decimal: %s", r.raw)
					}
				}},
			{name: "money never goes through a float", method: "POST", path: "/offers", key: "admin", status: 201, save: "offer2",
				body:  `{"name":"Offer B","url":"https://b.example/","payout":{"type":"fixed","amount":0.000001}}`,
				check: has("payout.currency", "USD")},
			{name: "seven decimals", method: "POST", path: "/offers", key: "admin", status: 400, field: "payout.amount",
				body: `{"name":"x","url":"https://b.example/","payout":{"amount":"0.0000001"}}`},
			{name: "unknown macro", method: "POST", path: "/offers", key: "admin", status: 422, field: "url",
				body: `{"name":"x","url":"https://o.example/?c={clickidd}"}`,
				check: func(t testing.TB, r response) {
					if _, _, msg := r.errInfo(); !strings.Contains(msg, "{clickidd}") {
						t.Errorf("message %q does not name the macro", msg)
					}
				}},
			{name: "not a URL", method: "POST", path: "/offers", key: "admin", status: 422, field: "url",
				body: `{"name":"x","url":"javascript:alert(1)"}`},
			{name: "missing network", method: "POST", path: "/offers", key: "admin", status: 422, field: "affiliate_network_id",
				body: `{"name":"x","url":"https://o.example/","affiliate_network_id":999}`},
			{name: "network in use", method: "DELETE", path: "/affiliate-networks/$net", key: "admin", status: 409},
			{method: "POST", path: "/landings", key: "admin", status: 201, save: "lp",
				body: `{"name":"LP","url":"https://lp.example/?c={clickid}"}`},

			{name: "campaign", method: "POST", path: "/campaigns", key: "admin", status: 201, save: "camp",
				body: `{"alias":"Summer-Promo","name":"Summer","cost":{"model":"cpc","amount":"0.02"},"streams":[
					{"name":"US mobile","type":"regular","filters":[{"type":"country","values":["US"]},{"type":"device_type","values":["mobile"]}],
					 "schema":"landings","landings":[{"landing_id":$lp}],"offers":[{"offer_id":$offer,"share":70},{"offer_id":$offer2,"share":30}]},
					{"name":"bots","type":"forced","filters":[{"type":"bot"}],"action":{"type":"not_found"}},
					{"name":"rest","type":"default","offers":[{"offer_id":$offer2}]}]}`,
				check: func(t testing.TB, r response) {
					has("alias", "summer-promo")(t, r)
					has("streams.0.offers.0.share", 70)(t, r)
					has("streams.1.schema", "action")(t, r)
					has("streams.2.offers.0.share", 100)(t, r)
					if id, _ := field(r.body, "streams.0.id").(float64); id == 0 {
						t.Errorf("stream has no id: %s", r.raw)
					}
					if u, _ := r.obj()["url"].(string); !strings.HasSuffix(u, "/summer-promo") {
						t.Errorf("url = %q", u)
					}
				}},
			{name: "same alias", method: "POST", path: "/campaigns", key: "admin", status: 409, field: "alias",
				body: `{"alias":"summer-promo","name":"Dup"}`},
			{name: "reserved alias", method: "POST", path: "/campaigns", key: "admin", status: 409, field: "alias",
				body: `{"alias":"API","name":"x"}`},
			{name: "reserved alias pixel.gif", method: "POST", path: "/campaigns", key: "admin", status: 409, field: "alias",
				body: `{"alias":"pixel.gif","name":"x"}`},
			{name: "alias with a slash", method: "POST", path: "/campaigns", key: "admin", status: 422, field: "alias",
				body: `{"alias":"a/b","name":"x"}`},
			{name: "stream to a missing offer", method: "POST", path: "/campaigns", key: "admin", status: 422,
				field: "streams[0].offers[1].offer_id",
				body:  `{"alias":"c2","name":"x","streams":[{"offers":[{"offer_id":$offer},{"offer_id":4242}]}]}`},
			{name: "nothing half-written", method: "GET", path: "/campaigns", key: "admin", status: 200, check: count(1)},
			{name: "bad regex", method: "POST", path: "/campaigns", key: "admin", status: 422, field: "streams[0].filters[0].values[0]",
				body: `{"alias":"c3","name":"x","streams":[{"filters":[{"type":"referrer","op":"regex","values":["(a"]}],"offers":[{"offer_id":$offer}]}]}`},
			{name: "bad schedule zone", method: "POST", path: "/campaigns", key: "admin", status: 422, field: "streams[0].filters[0].timezone",
				body: `{"alias":"c3","name":"x","streams":[{"filters":[{"type":"schedule","hours":[9],"timezone":"Mars/Base"}],"offers":[{"offer_id":$offer}]}]}`},
			{name: "default stream with filters", method: "POST", path: "/campaigns", key: "admin", status: 422, field: "streams[0].filters",
				body: `{"alias":"c3","name":"x","streams":[{"type":"default","filters":[{"type":"bot"}],"offers":[{"offer_id":$offer}]}]}`},
			{name: "action to a missing campaign", method: "POST", path: "/campaigns", key: "admin", status: 422,
				field: "streams[0].action.campaign_id",
				body:  `{"alias":"c3","name":"x","streams":[{"action":{"type":"campaign","campaign_id":777}}]}`},
			{name: "campaign that forwards", method: "POST", path: "/campaigns", key: "admin", status: 201, save: "fwd",
				body: `{"alias":"fwd","name":"Forward","streams":[{"type":"default","action":{"type":"campaign","campaign_id":$camp}}]}`},
			{name: "campaign in use", method: "DELETE", path: "/campaigns/$camp", key: "admin", status: 409},
			{name: "offer in use", method: "DELETE", path: "/offers/$offer", key: "admin", status: 409,
				check: func(t testing.TB, r response) {
					if _, _, msg := r.errInfo(); !strings.Contains(msg, "summer-promo") {
						t.Errorf("message %q does not say which campaign uses the offer", msg)
					}
				}},
			{name: "landing in use", method: "DELETE", path: "/landings/$lp", key: "admin", status: 409},
			{name: "patch keeps streams", method: "PATCH", path: "/campaigns/$camp", key: "admin", status: 200,
				body: `{"paused":true}`, check: func(t testing.TB, r response) {
					has("paused", true)(t, r)
					if s, _ := r.obj()["streams"].([]any); len(s) != 3 {
						t.Errorf("patch lost streams: %s", r.raw)
					}
				}},
			{name: "replace streams", method: "PATCH", path: "/campaigns/$camp", key: "admin", status: 200,
				body: `{"streams":[{"type":"default","offers":[{"offer_id":$offer2}]}]}`},
			{name: "now the offer is free", method: "DELETE", path: "/offers/$offer", key: "admin", status: 204},
			{name: "and the landing", method: "DELETE", path: "/landings/$lp", key: "admin", status: 204},
			{method: "DELETE", path: "/campaigns/$fwd", key: "admin", status: 204},
			{method: "DELETE", path: "/campaigns/$camp", key: "admin", status: 204},
			{method: "GET", path: "/campaigns/$camp", key: "admin", status: 404},
		})
	})
}

func TestBadInput(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		e.run([]step{
			{name: "malformed JSON", method: "POST", path: "/landings", key: "admin", body: `{"name":`, status: 400, code: "bad_request"},
			{name: "syntax error", method: "POST", path: "/landings", key: "admin", body: `{"name" "x"}`, status: 400},
			{name: "unknown field", method: "POST", path: "/landings", key: "admin", status: 400, field: "colour",
				body: `{"name":"x","url":"https://lp.example","colour":"red"}`},
			{name: "wrong type", method: "POST", path: "/landings", key: "admin", status: 400, field: "name",
				body: `{"name":42,"url":"https://lp.example"}`},
			{name: "wrong nested type", method: "POST", path: "/offers", key: "admin", status: 400, field: "payout.type",
				body: `{"name":"x","url":"https://o.example","payout":{"type":7}}`},
			{name: "not an object", method: "POST", path: "/landings", key: "admin", body: `[1,2]`, status: 400},
			{name: "two values", method: "POST", path: "/landings", key: "admin", body: `{"name":"x","url":"https://l.example"} {}`, status: 400},
			{name: "null patch", method: "POST", path: "/landings", key: "admin", body: `{"name":"L","url":"https://l.example"}`, status: 201, save: "lp"},
			{method: "PATCH", path: "/landings/$lp", key: "admin", body: `null`, status: 400},
			{name: "patch unknown field", method: "PATCH", path: "/landings/$lp", key: "admin", body: `{"nam":"x"}`, status: 400, field: "nam"},
			{name: "patch breaks a rule", method: "PATCH", path: "/landings/$lp", key: "admin", body: `{"name":""}`, status: 422, field: "name"},
			{name: "id not a number", method: "GET", path: "/landings/abc", key: "admin", status: 400, field: "id"},
			{name: "id too big", method: "GET", path: "/landings/99999999999999999999", key: "admin", status: 400, field: "id"},
			{name: "missing id", method: "PUT", path: "/landings/12345", key: "admin", body: `{"name":"x","url":"https://l.example"}`, status: 404},
			{name: "control character in a name", method: "POST", path: "/landings", key: "admin", status: 422, field: "name",
				body: `{"name":"a\u0000b","url":"https://l.example"}`},
			{name: "currency rate", method: "POST", path: "/currency-rates", key: "admin", body: `{"currency":"eur","rate":"1.08"}`, status: 201,
				check: has("rate", 1.08)},
			{name: "rate exists", method: "POST", path: "/currency-rates", key: "admin", body: `{"currency":"EUR","rate":1.1}`, status: 409},
			{name: "rate replaced", method: "PUT", path: "/currency-rates/EUR", key: "admin", body: `{"rate":1.1}`, status: 200},
			{name: "rate created by PUT", method: "PUT", path: "/currency-rates/gbp", key: "admin", body: `{"rate":"1.27"}`, status: 201},
			{name: "NaN rate", method: "PUT", path: "/currency-rates/GBP", key: "admin", body: `{"rate":"NaN"}`, status: 400, field: "rate"},
			{name: "zero rate", method: "PUT", path: "/currency-rates/GBP", key: "admin", body: `{"rate":0}`, status: 422, field: "rate"},
			{name: "1e308", method: "PUT", path: "/currency-rates/GBP", key: "admin", body: `{"rate":1e308}`, status: 400, field: "rate"},
			{name: "bad code", method: "PUT", path: "/currency-rates/EURO", key: "admin", body: `{"rate":1}`, status: 400, field: "currency"},
			{name: "account currency", method: "PUT", path: "/currency-rates/USD", key: "admin", body: `{"rate":1}`, status: 422, field: "currency"},
			{method: "GET", path: "/currency-rates", key: "viewer", status: 200, check: count(2)},
			{method: "DELETE", path: "/currency-rates/GBP", key: "admin", status: 204},
			{method: "DELETE", path: "/currency-rates/GBP", key: "admin", status: 404},
			{name: "settings", method: "PATCH", path: "/settings", key: "admin", status: 200,
				body: `{"timezone":"Europe/Berlin","public_url":"https://trk.example.com/","trusted_proxies":["10.0.0.0/8"]}`,
				check: func(t testing.TB, r response) {
					has("timezone", "Europe/Berlin")(t, r)
					has("public_url", "https://trk.example.com")(t, r)
					has("account_currency", "USD")(t, r)
				}},
			{name: "bad timezone", method: "PATCH", path: "/settings", key: "admin", body: `{"timezone":"Nowhere/City"}`, status: 422, field: "timezone"},
			{name: "postback key is read-only", method: "PATCH", path: "/settings", key: "admin", body: `{"postback_key":"mine-mine-mine-mine"}`,
				status: 422, field: "postback_key"},
			{name: "bad durability", method: "PATCH", path: "/settings", key: "admin", body: `{"click_durability":"maybe"}`, status: 422,
				field: "click_durability"},
			{name: "user", method: "POST", path: "/users", key: "admin", body: `{"login":"ann","role":"viewer","password":"long enough pw"}`,
				status: 201, save: "ann", check: has("password", nil)},
			{name: "short password", method: "POST", path: "/users", key: "admin", body: `{"login":"bob","password":"short"}`, status: 422, field: "password"},
			{name: "login taken", method: "POST", path: "/users", key: "admin", body: `{"login":"ANN","password":"long enough pw"}`, status: 409, field: "login"},
			{name: "bad role", method: "PATCH", path: "/users/$ann", key: "admin", body: `{"role":"root"}`, status: 422, field: "role"},
			{name: "last admin stays admin", method: "PATCH", path: "/users/1", key: "admin", body: `{"role":"viewer"}`, status: 409, field: "role"},
			{name: "last admin stays", method: "DELETE", path: "/users/1", key: "admin", status: 409},
			{method: "DELETE", path: "/users/$ann", key: "admin", status: 204},
		})

		// A body over 1 MiB is refused, not read to the end.
		big := `{"name":"` + strings.Repeat("a", 1<<20) + `","url":"https://l.example"}`
		if r := e.call("POST", "/landings", "admin", []byte(big)); r.status != 413 {
			t.Errorf("1 MiB body: status %d, want 413: %.200s", r.status, r.raw)
		}
		// Only JSON is accepted.
		r := e.call("POST", "/landings", "admin", []byte(`{"name":"x","url":"https://l.example"}`), "Content-Type", "text/plain")
		if r.status != 415 {
			t.Errorf("text/plain body: status %d, want 415", r.status)
		}
		// None of the refused requests wrote anything.
		if r := e.call("GET", "/landings", "admin", nil); len(r.obj()["items"].([]any)) != 1 {
			t.Errorf("landings after bad input: %s", r.raw)
		}
	})
}

func TestBruteForceBehindAProxy(t *testing.T) {
	e := newEnv(t, storetest.Open(t, store.SQLite))
	from := func(ip string) []string { return []string{"X-Forwarded-For", "198.51.100.1, " + ip} }
	guess := func(ip string) {
		t.Helper()
		for i := 0; i < 30; i++ {
			if r := e.call("GET", "/offers", "trk_guess", nil, from(ip)...); r.status == 429 {
				return
			}
		}
		t.Fatalf("30 wrong keys from %s were never refused", ip)
	}
	// Not trusted: the header is the client's word; rotating it does not
	// escape the block on the peer.
	guess("203.0.113.7")
	if r := e.call("GET", "/offers", "admin", nil, from("203.0.113.8")...); r.status != 429 {
		t.Errorf("an untrusted forwarding header escaped the block: %d", r.status)
	}

	// Behind a trusted proxy, each client has its own budget.
	e = newEnv(t, storetest.Open(t, store.SQLite))
	e.api.TrustedProxies = func() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }
	guess("203.0.113.7")
	if r := e.call("GET", "/offers", "admin", nil, from("203.0.113.7")...); r.status != 429 {
		t.Errorf("the blocked client: %d, want 429", r.status)
	}
	if r := e.call("GET", "/offers", "admin", nil, from("203.0.113.8")...); r.status != 200 {
		t.Errorf("another client behind the same proxy: %d, want 200", r.status)
	}
}
