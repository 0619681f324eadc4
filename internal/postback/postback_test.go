package postback_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/clickid"
	"github.com/trackd/trackd/internal/postback"
	"github.com/trackd/trackd/internal/server"
	"github.com/trackd/trackd/internal/server/servertest"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// env is a running trackd over a real store, with networks, offers and one
// campaign per offer (alias c<offer id>).
type env struct {
	*servertest.Env
	ids    *clickid.Generator
	nets   map[string]int64
	offers map[string]int64
}

const (
	netKeyA   = "network-a-key-0123456789"
	signingS  = "signing-secret-0123456789"
	offerBase = "https://offer.example/?s={clickid}"
)

func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{Env: servertest.StartHandler(t, db, server.Config{}), nets: map[string]int64{}, offers: map[string]int64{}}
	mac, err := db.Secret(ctx, store.SecretClickID)
	if err != nil {
		t.Fatal(err)
	}
	if e.ids, err = clickid.NewGenerator(mac); err != nil {
		t.Fatal(err)
	}
	e.API("PUT", "/currency-rates/EUR", `{"rate":"1.08"}`, 201)
	for name, body := range map[string]string{
		"A": `{"name":"A","postback_key":"` + netKeyA + `","postback_params":{"clickid":"aff_sub"},"statuses":{"approved_custom":"sale"}}`,
		"B": `{"name":"B","ip_allowlist":["10.9.9.9","2001:db8::/32"]}`,
		"S": `{"name":"S","signing_secret":"` + signingS + `"}`,
		"P": `{"name":"P","allow_pixel":true,"duplicate_policy":"update_payout"}`,
	} {
		e.nets[name] = e.Create("/affiliate-networks", body)
	}
	for name, o := range map[string]string{
		"a":      fmt.Sprintf(`"affiliate_network_id":%d`, e.nets["A"]),
		"upsell": fmt.Sprintf(`"affiliate_network_id":%d,"upsells_allowed":true`, e.nets["A"]),
		"b":      fmt.Sprintf(`"affiliate_network_id":%d`, e.nets["B"]),
		"s":      fmt.Sprintf(`"affiliate_network_id":%d`, e.nets["S"]),
		"fixed":  fmt.Sprintf(`"affiliate_network_id":%d,"payout":{"type":"fixed","amount":"2.5","currency":"EUR"}`, e.nets["P"]),
	} {
		id := e.Create("/offers", `{"name":"`+name+`","url":"`+offerBase+`",`+o+`}`)
		e.offers[name] = id
		e.Create("/campaigns", fmt.Sprintf(`{"alias":"c%s","name":"%s","streams":[{"type":"default","offers":[{"offer_id":%d}]}]}`,
			name, name, id))
	}
	return e
}

type response struct {
	status int
	body   string
	header http.Header
}

func (e *env) do(req *http.Request) response {
	e.T.Helper()
	res, err := e.NoRedirect.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{res.StatusCode, string(b), res.Header}
}

func (e *env) click(offer string) string {
	e.T.Helper()
	req, _ := http.NewRequest("GET", e.URL+"/c"+offer, nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36")
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Accept-Language", "en-US")
	res := e.do(req)
	loc, err := url.Parse(res.header.Get("Location"))
	if res.status != 302 || err != nil {
		e.T.Fatalf("click on c%s = %d %q", offer, res.status, res.header.Get("Location"))
	}
	return loc.Query().Get("s")
}

// get sends a GET postback to path (with the query) and returns the answer.
func (e *env) get(pathQuery string) response {
	e.T.Helper()
	req, _ := http.NewRequest("GET", e.URL+pathQuery, nil)
	return e.do(req)
}

func (e *env) pb(query string) response { return e.get("/" + e.PostbackKey + "/postback?" + query) }

func (e *env) expect(res response, status int, contains string) {
	e.T.Helper()
	if res.status != status || !strings.Contains(res.body, contains) {
		e.T.Errorf("answer %d %q, want %d containing %q", res.status, res.body, status, contains)
	}
}

func (e *env) conversions(clickID string) []track.Conversion {
	e.T.Helper()
	cs, err := e.DB.Conversions(context.Background(), store.ConversionQuery{ClickID: clickID})
	if err != nil {
		e.T.Fatal(err)
	}
	return cs
}

func (e *env) one(clickID string) track.Conversion {
	e.T.Helper()
	cs := e.conversions(clickID)
	if len(cs) != 1 {
		e.T.Fatalf("click %s has %d conversions, want 1: %+v", clickID, len(cs), cs)
	}
	return cs[0]
}

func TestStatusesAndDuplicates(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		id := e.click("a")
		e.expect(e.pb("subid="+id+"&status=lead&payout=1.5"), 200, "created")
		c := e.one(id)
		if c.Status != track.StatusLead || c.Payout != 1_500_000 || c.OriginalCurrency != "USD" || c.OfferID != e.offers["a"] ||
			c.AffiliateNetworkID != e.nets["A"] || c.CampaignID == 0 {
			t.Errorf("conversion = %+v", c)
		}
		e.expect(e.pb("subid="+id+"&status=lead&payout=1.5"), 200, "duplicate")
		e.expect(e.pb("clickid="+id+"&status=approved&payout=2"), 200, "updated")
		c = e.one(id)
		if c.Status != track.StatusSale || c.PreviousStatus != track.StatusLead || c.RawStatus != "approved" || c.Payout != 2_000_000 {
			t.Errorf("after sale: %+v", c)
		}
		e.expect(e.pb("cid="+id+"&status=lead"), 409, "may not go from sale to lead")
		e.expect(e.pb("cnv_id="+id+"&cnv_status=rejected"), 200, "sale → rejected")
		e.expect(e.pb("sub_id="+id+"&status=sale"), 409, "rejected to sale")
		if c := e.one(id); c.Status != track.StatusRejected || c.Payout != 2_000_000 {
			t.Errorf("after rejection: %+v", c)
		}

		// Keitaro's lists, and the default status (sale).
		id = e.click("a")
		e.expect(e.pb("subid="+id+"&status=ping&ignore_status=ping,test"), 200, "ignored")
		e.expect(e.pb("subid="+id+"&status=reg&lead_status=reg,topup&sale_status=billed"), 200, "created")
		e.expect(e.pb("subid="+id+"&status=billed&lead_status=reg&sale_status=billed&return=OK"), 200, "OK")
		if c := e.one(id); c.Status != track.StatusSale || c.RawStatus != "billed" {
			t.Errorf("after Keitaro lists: %+v", c)
		}
		id = e.click("a")
		e.expect(e.pb("subid="+id), 200, "created")
		if c := e.one(id); c.Status != track.StatusSale || c.Payout != 0 {
			t.Errorf("default status: %+v", c)
		}
		e.expect(e.pb("subid="+e.click("a")+"&status=whatever"), 422, `status "whatever" is not mapped`)
	})
}

func TestPayoutsAndCurrencies(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		for _, c := range []struct {
			query  string
			status int
			payout track.Money
			want   string
		}{
			{"payout=1,5", 200, 1_500_000, "created"},
			{"revenue=-3.25", 200, -3_250_000, "created"}, // a negative correction
			{"sum=-0", 200, 0, "created"},
			{"amount=10&currency=eur", 200, 10_800_000, "created"},
			{"payout=10&cnv_currency=EUR", 200, 10_800_000, "created"},
			{"payout=1,500.00", 400, 0, "ambiguous"},
			{"payout=1e308", 400, 0, "not a decimal"},
			{"payout=NaN", 400, 0, "not a decimal"},
			{"payout=abc", 400, 0, "not a decimal"},
			{"payout=1234567890123456789012345678901234567890", 400, 0, "not a decimal"},
			{"payout=1&currency=XYZ", 422, 0, "currency XYZ has no rate"},
			{"payout=1&currency=dollars", 400, 0, "not a three-letter"},
			{"payout={payout}", 400, 0, "macro the network did not fill in"},
		} {
			id := e.click("a")
			res := e.pb("subid=" + id + "&" + c.query)
			e.expect(res, c.status, c.want)
			cs := e.conversions(id)
			if c.status != 200 {
				if len(cs) != 0 {
					t.Errorf("%s: refused but recorded %+v", c.query, cs)
				}
				continue
			}
			if len(cs) != 1 || cs[0].Payout != c.payout {
				t.Errorf("%s: conversions %+v, want payout %s", c.query, cs, c.payout)
			}
		}
		// A fixed payout ignores the postback's, converted from EUR.
		id := e.click("fixed")
		e.expect(e.pb("subid="+id+"&payout=99"), 200, "created")
		if c := e.one(id); c.Payout != 2_700_000 || c.OriginalPayout != 2_500_000 || c.OriginalCurrency != "EUR" ||
			c.Rate != 1_080_000_000 {
			t.Errorf("fixed payout: %+v", c)
		}
	})
}

func TestAuthentication(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		id := e.click("a")
		e.expect(e.get("/postback?subid="+id), 401, "postback key missing")
		e.expect(e.get("/wrong-key-000000000000/postback?subid="+id), 401, "wrong postback key")
		e.expect(e.get("/postback?key=nope&subid="+id), 401, "wrong postback key")
		e.expect(e.get("/postback?key="+e.PostbackKey+"&subid="+id+"&status=lead"), 200, "created")

		// Forged and malformed click ids are refused before any lookup.
		forged := []byte(e.click("a"))
		forged[31] ^= 1
		if forged[31] > 'v' || forged[31] < '0' || forged[31] > '9' && forged[31] < 'a' {
			forged[31] = '0'
		}
		e.expect(e.pb("subid="+string(forged)), 400, "fails verification")
		e.expect(e.pb("subid=abc"), 400, "not a trackd click id")
		e.expect(e.pb("status=sale"), 400, "click id missing")
		for _, macro := range []string{"{clickid}", "#s2#", "[sub1]", "%aff_sub%", "{{click_id}}"} {
			e.expect(e.pb("subid="+url.QueryEscape(macro)), 400, "macro the network did not fill in")
		}

		// A network's own key and parameter names; its key is for its clicks only.
		id = e.click("a")
		e.expect(e.get("/"+netKeyA+"/postback?aff_sub="+id+"&status=approved_custom"), 200, "created")
		if c := e.one(id); c.Status != track.StatusSale || c.RawStatus != "approved_custom" {
			t.Errorf("network mapping: %+v", c)
		}
		e.expect(e.get("/"+netKeyA+"/postback?subid="+e.click("s")), 403, "not valid for this click's offer")

		// The allow-list of network B: the test client is 127.0.0.1.
		e.expect(e.pb("subid="+e.click("b")), 403, "not in the IP allow-list")

		// Network S signs: unsigned is refused, signed counts.
		id = e.click("s")
		e.expect(e.pb("subid="+id), 403, "signs its postbacks")
		sign := func(q string, at time.Time, secret string) string {
			ts := strconv.FormatInt(at.Unix(), 10)
			q += "&ts=" + ts
			return q + "&sig=" + postback.Sign(secret, ts, q+"\n")
		}
		e.expect(e.get("/postback?"+sign("subid="+id+"&status=lead", time.Now(), "wrong-secret-0000000000")), 403, "does not match")
		e.expect(e.get("/postback?"+sign("subid="+id+"&status=lead", time.Now().Add(-time.Hour), signingS)), 403, "window")
		e.expect(e.get("/postback?"+sign("subid="+id+"&status=lead", time.Now(), signingS)), 200, "created")
		// In headers, with a JSON body.
		body := `{"subid":"` + id + `","status":"sale"}`
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, _ := http.NewRequest("POST", e.URL+"/postback", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Trackd-Timestamp", ts)
		req.Header.Set("X-Trackd-Signature", postback.Sign(signingS, ts, "\n"+body))
		e.expect(e.do(req), 200, "lead → sale")
	})
}

func TestBodiesAndLimits(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		post := func(ctype, body string) response {
			req, _ := http.NewRequest("POST", e.URL+"/"+e.PostbackKey+"/postback", strings.NewReader(body))
			req.Header.Set("Content-Type", ctype)
			return e.do(req)
		}
		id := e.click("a")
		e.expect(post("application/x-www-form-urlencoded", "subid="+id+"&status=lead&payout=3"), 200, "created")
		e.expect(post("application/json", `{"click_id":"`+id+`","status":"sale","payout":4.5,"tid":"T1"}`), 200, "updated")
		if c := e.one(id); c.Payout != 4_500_000 || c.TID != "T1" {
			t.Errorf("after JSON body: %+v", c)
		}
		e.expect(post("application/json", `[1,2`), 400, "malformed JSON")
		e.expect(post("application/x-www-form-urlencoded", strings.Repeat("x", 10<<20)), 413, "larger than")

		// sub_id_N updates the click.
		id = e.click("a")
		e.expect(e.pb("subid="+id+"&sub_id_3=from-network&sub_id_31=ignored&sub_id_4={sub4}"), 200, "created")
		c, err := db.Click(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c.SubIDs[2] != "from-network" || c.SubIDs[3] != "" {
			t.Errorf("sub ids after the postback: %q", c.SubIDs[:5])
		}
	})
}

func TestUpsells(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		id := e.click("upsell")
		e.expect(e.pb("subid="+id+"&tid=t1&status=sale&payout=10"), 200, "created")
		e.expect(e.pb("subid="+id+"&tid=t2&status=sale&payout=5"), 200, "upsell")
		e.expect(e.pb("subid="+id+"&tid=t2&status=sale&payout=5"), 200, "duplicate")
		e.expect(e.pb("subid="+id+"&tid=t3&status=lead"), 409, "upsell must be a sale or rebill")
		e.expect(e.pb("subid="+id+"&tid=t2&status=rejected"), 200, "rebill → rejected")
		cs := e.conversions(id)
		if len(cs) != 2 || !cs[0].Upsell || cs[0].Status != track.StatusRejected || cs[1].Upsell || cs[1].TID != "t1" {
			t.Errorf("conversions: %+v", cs)
		}
		// Without upsells, a new tid is about the click's conversion.
		id = e.click("a")
		e.expect(e.pb("subid="+id+"&tid=x1&status=sale"), 200, "created")
		e.expect(e.pb("subid="+id+"&tid=x2&status=sale"), 200, "duplicate")
		e.expect(e.pb("subid="+id+"&tid=x3&status=rebill"), 409, "does not allow upsells")
		e.one(id)
	})
}

// Identical postbacks at the same instant on many connections: one
// conversion, the others duplicates.
func TestConcurrentDuplicates(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		id := e.click("a")
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			answers = map[string]int{}
		)
		for i := 0; i < 16; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := http.Get(e.URL + "/" + e.PostbackKey + "/postback?subid=" + id + "&tid=same&payout=1")
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				outcome, _, _ := strings.Cut(string(b), ":")
				mu.Lock()
				answers[fmt.Sprint(res.StatusCode, " ", outcome)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if answers["200 created"] != 1 || answers["200 duplicate"] != 15 {
			t.Errorf("answers = %v, want 1 created and 15 duplicates", answers)
		}
		e.one(id)
	})
}

// A postback may come before its click is written: the click batch is
// flushed; a click no node has written yet is kept as pending.
func TestLateClicks(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		// Async clicks linger before their commit: the postback flushes them.
		for i := 0; i < 5; i++ {
			e.expect(e.pb("subid="+e.click("a")), 200, "created")
		}
		// A valid id whose click is nowhere (yet).
		id := e.ids.New(time.Now())
		e.expect(e.pb("subid="+id.String()+"&status=lead&payout=2"), 202, "pending")
		ctx := context.Background()
		log, err := db.PostbackLog(ctx, store.PostbackQuery{ClickID: id.String()})
		if err != nil || len(log) != 1 || log[0].Outcome != track.OutcomePending {
			t.Fatalf("log = %+v, %v", log, err)
		}
		// Its click arrives (another node's batch); the retry counts it.
		if err := db.InsertClicks(ctx, []track.Click{{ClickID: id.String(), CreatedAt: time.Now(), CampaignID: 1,
			OfferID: e.offers["a"]}}); err != nil {
			t.Fatal(err)
		}
		e.Server.RetryPendingPostbacks(ctx)
		if c := e.one(id.String()); c.Status != track.StatusLead || c.Payout != 2_000_000 {
			t.Errorf("pending postback after retry: %+v", c)
		}
		log, _ = db.PostbackLog(ctx, store.PostbackQuery{ClickID: id.String()})
		if len(log) != 1 || log[0].Outcome != track.OutcomeCreated || log[0].ConversionID == 0 {
			t.Errorf("log after retry = %+v", log)
		}
		// An old id with no click is unknown.
		old := e.ids.New(time.Now().Add(-2 * postback.PendingFor))
		e.expect(e.pb("subid="+old.String()), 404, "unknown click")
	})
}

func TestPixel(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		pixel := func(clickID, query string) response {
			req, _ := http.NewRequest("GET", e.URL+"/pixel.gif?"+query, nil)
			req.AddCookie(&http.Cookie{Name: "trk_cid", Value: clickID})
			return e.do(req)
		}
		id := e.click("fixed")
		res := pixel(id, "status=lead")
		if res.status != 200 || res.header.Get("Content-Type") != "image/gif" || res.header.Get("X-Trackd-Outcome") != "created" {
			t.Errorf("pixel = %d %v", res.status, res.header)
		}
		if c := e.one(id); c.Status != track.StatusLead || c.Payout != 2_700_000 {
			t.Errorf("pixel conversion: %+v", c)
		}
		// Network A does not allow pixels.
		id = e.click("a")
		if res := pixel(id, ""); res.header.Get("X-Trackd-Outcome") != "refused" || len(e.conversions(id)) != 0 {
			t.Errorf("pixel on a network without pixels: %v", res.header)
		}
		if res := e.get("/pixel.js"); res.status != 200 || !strings.Contains(res.body, "/pixel.gif?") {
			t.Errorf("pixel.js = %d %s", res.status, res.body)
		}
	})
}

// A conversion on a click whose campaign was deleted still counts: the
// money was made.
func TestDeletedCampaign(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		id := e.click("a")
		var camps struct{ Items []track.Campaign }
		json.Unmarshal([]byte(e.API("GET", "/campaigns", "", 200)), &camps)
		var campaignID int64
		for _, c := range camps.Items {
			if c.Alias == "ca" {
				campaignID = c.ID
			}
		}
		e.API("DELETE", fmt.Sprintf("/campaigns/%d", campaignID), "", 204)
		e.expect(e.pb("subid="+id+"&status=lead&payout=3"), 200, "created")
		if conv := e.one(id); conv.CampaignID != campaignID || conv.Payout != 3_000_000 {
			t.Errorf("conversion = %+v", conv)
		}
	})
}

func TestAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		id := e.click("a")
		e.expect(e.pb("subid="+id+"&status=funny"), 422, "not mapped")

		// The log says why, and a replay after the mapping is fixed counts it.
		var log struct{ Items []track.PostbackLogEntry }
		json.Unmarshal([]byte(e.API("GET", "/postbacks?click_id="+id, "", 200)), &log)
		if len(log.Items) != 1 || log.Items[0].Outcome != track.OutcomeRefused || !strings.Contains(log.Items[0].Reason, "funny") ||
			log.Items[0].HTTPStatus != 422 || strings.Contains(log.Items[0].Request, e.PostbackKey) {
			t.Fatalf("log = %+v", log.Items)
		}
		e.API("PATCH", fmt.Sprintf("/affiliate-networks/%d", e.nets["A"]), `{"statuses":{"funny":"lead"}}`, 200)
		var res postback.Result
		json.Unmarshal([]byte(e.API("POST", fmt.Sprintf("/postbacks/%d/replay", log.Items[0].ID), "", 200)), &res)
		if res.Outcome != track.OutcomeCreated {
			t.Errorf("replay = %+v", res)
		}
		c := e.one(id)

		// An admin may make any status change.
		e.API("PATCH", fmt.Sprintf("/conversions/%d", c.ID), `{"status":"rejected"}`, 200)
		e.API("PATCH", fmt.Sprintf("/conversions/%d", c.ID), `{"status":"sale"}`, 200)
		e.API("PATCH", fmt.Sprintf("/conversions/%d", c.ID), `{"status":"gold"}`, 422)
		if c := e.one(id); c.Status != track.StatusSale || c.PreviousStatus != track.StatusRejected {
			t.Errorf("after edits: %+v", c)
		}
		var got track.Conversion
		json.Unmarshal([]byte(e.API("GET", fmt.Sprintf("/conversions/%d", c.ID), "", 200)), &got)
		if got.ID != c.ID || got.ClickID != id {
			t.Errorf("GET conversion = %+v", got)
		}
		e.API("GET", "/conversions?status=gold", "", 400)
		e.API("GET", "/postbacks?outcome=nope", "", 400)

		// Test postback and import.
		id2, id3 := e.click("a"), e.click("a")
		e.API("POST", "/postbacks/test", `{"click_id":"`+id2+`","status":"lead","payout":"1.25"}`, 200)
		if c := e.one(id2); c.Payout != 1_250_000 {
			t.Errorf("test postback: %+v", c)
		}
		e.API("POST", "/postbacks/test", `{"click_id":"nope"}`, 422)
		req, _ := http.NewRequest("POST", e.URL+"/api/v1/conversions/import",
			strings.NewReader("clickid,payout,tid,status\n"+id3+",7.5,T9,sale\nbogus,1,,\n"+id3+",7.5,T9,sale\n"))
		req.Header.Set("Authorization", "Bearer "+e.Key)
		req.Header.Set("Content-Type", "text/csv")
		imp := e.do(req)
		var lines struct{ Items []postback.ImportLine }
		json.Unmarshal([]byte(imp.body), &lines)
		if imp.status != 200 || len(lines.Items) != 3 || lines.Items[0].Outcome != track.OutcomeCreated ||
			lines.Items[1].Status != 400 || lines.Items[2].Outcome != track.OutcomeDuplicate {
			t.Errorf("import = %d %s", imp.status, imp.body)
		}
		var all struct {
			Items []track.Conversion
			Next  int64
		}
		json.Unmarshal([]byte(e.API("GET", "/conversions?limit=2", "", 200)), &all)
		if len(all.Items) != 2 || all.Next == 0 {
			t.Errorf("conversions page = %+v", all)
		}
	})
}
