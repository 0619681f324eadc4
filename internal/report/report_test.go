package report_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/api"
	"github.com/trackd/trackd/internal/clickid"
	"github.com/trackd/trackd/internal/report"
	"github.com/trackd/trackd/internal/server"
	"github.com/trackd/trackd/internal/server/servertest"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// world is generated traffic: clicks written to the store, landing clicks,
// and conversions sent as postbacks over HTTP, with the final state of
// every conversion known to the test.
type world struct {
	db     *store.DB
	url    string
	key    string
	clicks []track.Click
	lp     map[string]int // click id → landing clicks
	convs  map[string]*conv
	models map[int64]string // campaign → cost model
	// network is an affiliate network, networkOffer its one offer.
	network, networkOffer int64
}

type conv struct {
	click  *track.Click
	status track.Status
	payout int64 // micro-units of USD, the account currency
}

// cost is what the test expects c to cost its campaign under model (a
// cpa of 2 EUR, or a revshare of 30%).
func (c *conv) cost(model string) int64 {
	switch {
	case model == "cpa" && (c.status == track.StatusLead || c.status == track.StatusSale):
		return 2_160_000 // 2 EUR at 1.08
	case model == "revshare" && (c.status == track.StatusSale || c.status == track.StatusRebill):
		return (c.payout*30 + 50) / 100
	}
	return 0
}

func call(t *testing.T, method, url, key, body string, want int) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, url, res.StatusCode, b, want)
	}
	return string(b)
}

// newWorld makes the world; models are the cost models of its campaigns
// by index ("cpa", "revshare"; none when absent).
func newWorld(t *testing.T, db *store.DB, models ...string) *world {
	ctx := context.Background()
	se := servertest.StartHandler(t, db, server.Config{})
	w := &world{db: db, url: se.URL, key: se.Key, lp: map[string]int{}, convs: map[string]*conv{}, models: map[int64]string{}}
	api := func(method, path, body string, want int) map[string]any {
		var v map[string]any
		json.Unmarshal([]byte(se.API(method, path, body, want)), &v)
		return v
	}
	api("PUT", "/currency-rates/EUR", `{"rate":"1.08"}`, 201)
	type camp struct{ id, stream, offer int64 }
	var camps []camp
	w.network = int64(api("POST", "/affiliate-networks", `{"name":"N"}`, 201)["id"].(float64))
	for i := range 3 {
		net := ""
		if i == 0 {
			net = fmt.Sprintf(`,"affiliate_network_id":%d`, w.network)
		}
		o := int64(api("POST", "/offers", fmt.Sprintf(`{"name":"o%d","url":"https://o.example/?s={clickid}","upsells_allowed":true%s}`, i, net), 201)["id"].(float64))
		if i == 0 {
			w.networkOffer = o
		}
		cost := `{"model":"none"}`
		if i < len(models) {
			cost = map[string]string{"cpa": `{"model":"cpa","amount":"2","currency":"EUR"}`,
				"revshare": `{"model":"revshare","amount":"30"}`}[models[i]]
		}
		c := api("POST", "/campaigns", fmt.Sprintf(`{"alias":"c%d","name":"c%d","cost":%s,"streams":[{"type":"default","offers":[{"offer_id":%d}]}]}`,
			i, i, cost, o), 201)
		st := c["streams"].([]any)[0].(map[string]any)["id"].(float64)
		camps = append(camps, camp{int64(c["id"].(float64)), int64(st), o})
		if i < len(models) {
			w.models[camps[i].id] = models[i]
		}
	}
	secret, err := db.Secret(ctx, store.SecretClickID)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := clickid.NewGenerator(secret)
	r := rand.New(rand.NewPCG(1, 2))
	// Four days of clicks ending now, every 9 minutes, across campaigns.
	start := time.Now().UTC().Add(-96 * time.Hour)
	for i := 0; start.Add(time.Duration(i) * 9 * time.Minute).Before(time.Now()); i++ {
		at := start.Add(time.Duration(i) * 9 * time.Minute).Truncate(time.Millisecond)
		c := camps[r.IntN(len(camps))]
		w.clicks = append(w.clicks, track.Click{ClickID: ids.New(at).String(), CreatedAt: at, CampaignID: c.id,
			StreamID: c.stream, OfferID: c.offer, Cost: track.Money(r.IntN(20_000)), IsBot: r.IntN(10) == 0,
			UniqueCampaign: r.IntN(3) > 0, UniqueStream: r.IntN(2) > 0, UniqueGlobal: r.IntN(4) == 0,
			Country: []string{"US", "DE", "IN", ""}[r.IntN(4)]})
		ck := &w.clicks[len(w.clicks)-1]
		ck.SubIDs[0] = []string{"z1", "z 2", `z"3`, ""}[r.IntN(4)]
		ck.DeviceType = []string{"mobile", "desktop", ""}[r.IntN(3)]
		ck.OS = []string{"Android", "iOS", "Windows", ""}[r.IntN(4)]
		ck.Browser = []string{"Chrome", "Safari", ""}[r.IntN(3)]
		ck.Language = []string{"en", "de", "", ""}[r.IntN(4)]
		ck.Region = []string{"Bavaria", "Île-de-France", "", ""}[r.IntN(4)]
		ck.ConnectionType = []string{"cellular", "cable/dsl", ""}[r.IntN(3)]
	}
	if err := db.InsertClicks(ctx, w.clicks); err != nil {
		t.Fatal(err)
	}
	var lcs []track.LandingClick
	for i := range w.clicks {
		c := &w.clicks[i]
		for range r.IntN(3) - 1 { // 0 or 1, now and then
			lcs = append(lcs, track.LandingClick{ClickID: c.ClickID, CreatedAt: c.CreatedAt.Add(time.Minute), OfferID: c.OfferID})
			w.lp[c.ClickID]++
		}
	}
	if err := db.InsertLandingClicks(ctx, lcs); err != nil {
		t.Fatal(err)
	}
	// Conversions: leads in EUR, some approved, some of those rejected
	// later, rebills and upsells in USD.
	postback := func(c *track.Click, q string) {
		call(t, "GET", fmt.Sprintf("%s/%s/postback?subid=%s&%s", se.URL, se.PostbackKey, c.ClickID, q), "", "", 200)
	}
	for i := range w.clicks {
		c := &w.clicks[i]
		if r.IntN(5) != 0 {
			continue
		}
		eur := int64(1+r.IntN(40)) * 250_000 // 0.25 .. 10 EUR
		postback(c, fmt.Sprintf("status=lead&payout=%s&currency=EUR&tid=A", track.Money(eur)))
		cv := &conv{click: c, status: track.StatusLead, payout: eur * 108 / 100}
		w.convs[c.ClickID+"/A"] = cv
		switch r.IntN(4) {
		case 0:
			postback(c, "status=sale&tid=A")
			cv.status = track.StatusSale
		case 1:
			postback(c, "status=sale&tid=A")
			postback(c, "status=rejected&tid=A")
			cv.status = track.StatusRejected
		case 2:
			postback(c, "status=rebill&payout=1.5&tid=B")
			w.convs[c.ClickID+"/B"] = &conv{click: c, status: track.StatusRebill, payout: 1_500_000}
		}
	}
	return w
}

// expected computes a report's rows from the generated records: the key
// of each click is dims(click).
func (w *world) expected(dims func(*track.Click) string) map[string]*store.Stats {
	out := map[string]*store.Stats{}
	get := func(c *track.Click) *store.Stats {
		k := dims(c)
		if out[k] == nil {
			out[k] = &store.Stats{}
		}
		return out[k]
	}
	b := func(v bool) int64 {
		if v {
			return 1
		}
		return 0
	}
	for i := range w.clicks {
		c := &w.clicks[i]
		s := get(c)
		s.Clicks++
		s.UniqueCampaign += b(c.UniqueCampaign)
		s.UniqueStream += b(c.UniqueStream)
		s.UniqueGlobal += b(c.UniqueGlobal)
		s.Bots += b(c.IsBot)
		s.Cost += int64(c.Cost)
		s.LPClicks += int64(w.lp[c.ClickID])
	}
	for _, cv := range w.convs {
		s := get(cv.click)
		s.Cost += cv.cost(w.models[cv.click.CampaignID])
		switch cv.status {
		case track.StatusLead:
			s.Leads++
			s.RevenueHold += cv.payout
		case track.StatusSale:
			s.Sales++
			s.RevenueConfirmed += cv.payout
		case track.StatusRebill:
			s.Rebills++
			s.RevenueConfirmed += cv.payout
		case track.StatusRejected:
			s.Rejected++
			s.RevenueRejected += cv.payout
		}
	}
	return out
}

// check compares a report with the expected sums, key by key, and its
// metrics with formulas computed here.
func check(t *testing.T, name string, res *report.Result, key func(report.Row) string, want map[string]*store.Stats) {
	t.Helper()
	if len(res.Rows) != len(want) {
		t.Errorf("%s: %d rows, want %d", name, len(res.Rows), len(want))
	}
	for _, row := range res.Rows {
		k := key(row)
		s := want[k]
		if s == nil {
			t.Errorf("%s: unexpected row %s", name, k)
			continue
		}
		m := row.Metrics
		got := [...]int64{m.Clicks, m.UniqueClicks, m.UniqueStreamClicks, m.UniqueGlobalClicks, m.Bots, m.LPClicks,
			int64(m.Cost), m.Leads, m.Sales, m.Rejected, m.Rebills, int64(m.RevenueHold), int64(m.RevenueConfirmed)}
		exp := [...]int64{s.Clicks, s.UniqueCampaign, s.UniqueStream, s.UniqueGlobal, s.Bots, s.LPClicks,
			s.Cost, s.Leads, s.Sales, s.Rejected, s.Rebills, s.RevenueHold, s.RevenueConfirmed}
		if got != exp {
			t.Errorf("%s: row %s = %v, want %v", name, k, got, exp)
		}
		conversions := s.Leads + s.Sales + s.Rejected
		if m.Conversions != conversions || int64(m.Profit) != s.RevenueConfirmed-s.Cost ||
			int64(m.Revenue) != s.RevenueHold+s.RevenueConfirmed {
			t.Errorf("%s: row %s conversions %d profit %s revenue %s", name, k, m.Conversions, m.Profit, m.Revenue)
		}
		if s.Clicks > 0 {
			// CR to six places: conversions × 10^8 / clicks, rounded.
			if want := (conversions*100_000_000*2 + s.Clicks) / (2 * s.Clicks); int64(m.CR) != want {
				t.Errorf("%s: row %s CR %s, want %s", name, k, m.CR, track.Money(want))
			}
			if want := (s.RevenueConfirmed*2 + s.Clicks) / (2 * s.Clicks); int64(m.EPC) != want && s.RevenueConfirmed >= 0 {
				t.Errorf("%s: row %s EPC %s, want %s", name, k, m.EPC, track.Money(want))
			}
		}
	}
}

func TestReportsMatchRawRows(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		now := time.Now()
		run := func(q report.Query) *report.Result {
			t.Helper()
			res, err := report.Run(ctx, db, q, "UTC", now)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			return res
		}
		from, to := w.clicks[0].CreatedAt.Add(-time.Hour), now.Add(time.Hour)
		for _, tz := range []string{"UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu"} {
			loc, _ := time.LoadLocation(tz)
			res := run(report.Query{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), Timezone: tz,
				GroupBy: []string{"day", "campaign"}})
			check(t, "day × campaign in "+tz, res, func(r report.Row) string { return r.Dims["day"] + "/" + r.Dims["campaign"] },
				w.expected(func(c *track.Click) string {
					return c.CreatedAt.In(loc).Format("2006-01-02") + "/" + strconv.FormatInt(c.CampaignID, 10)
				}))
			check(t, "total in "+tz, &report.Result{Rows: []report.Row{{Metrics: res.Total}}},
				func(report.Row) string { return "" }, w.expected(func(*track.Click) string { return "" }))
		}
		// Hours, filtered to one campaign, by stream and offer.
		c0 := w.clicks[0].CampaignID
		res := run(report.Query{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339),
			GroupBy: []string{"hour", "stream", "offer"}, Filters: map[string][]int64{"campaign": {c0}}})
		check(t, "hour × stream × offer for one campaign", res,
			func(r report.Row) string { return r.Dims["hour"] + "/" + r.Dims["stream"] + "/" + r.Dims["offer"] },
			func() map[string]*store.Stats {
				all := w.expected(func(c *track.Click) string {
					if c.CampaignID != c0 {
						return "other"
					}
					return c.CreatedAt.Format("2006-01-02 15:00") + "/" + strconv.FormatInt(c.StreamID, 10) + "/" +
						strconv.FormatInt(c.OfferID, 10)
				})
				delete(all, "other")
				return all
			}())
		// Dimensions of the raw clicks: country by day off the hour, offer
		// by sub id.
		kolkata, _ := time.LoadLocation("Asia/Kolkata")
		res = run(report.Query{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), Timezone: "Asia/Kolkata",
			GroupBy: []string{"day", "country"}})
		check(t, "day × country in Asia/Kolkata", res, func(r report.Row) string { return r.Dims["day"] + "/" + r.Dims["country"] },
			w.expected(func(c *track.Click) string { return c.CreatedAt.In(kolkata).Format("2006-01-02") + "/" + c.Country }))
		res = run(report.Query{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), GroupBy: []string{"offer", "sub_id_1"}})
		check(t, "offer × sub_id_1", res, func(r report.Row) string { return r.Dims["offer"] + "/" + r.Dims["sub_id_1"] },
			w.expected(func(c *track.Click) string { return strconv.FormatInt(c.OfferID, 10) + "/" + c.SubIDs[0] }))
		res = run(report.Query{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), GroupBy: []string{"bot", "unique"}})
		check(t, "bot × unique", res, func(r report.Row) string { return r.Dims["bot"] + "/" + r.Dims["unique"] },
			w.expected(func(c *track.Click) string {
				return map[bool]string{true: "yes", false: "no"}[c.IsBot] + "/" + map[bool]string{true: "yes", false: "no"}[c.UniqueCampaign]
			}))
		// Affiliate networks, through the offers.
		res = run(report.Query{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), GroupBy: []string{"affiliate_network", "offer"}})
		check(t, "affiliate network × offer", res, func(r report.Row) string { return r.Dims["affiliate_network"] + "/" + r.Dims["offer"] },
			w.expected(func(c *track.Click) string {
				n := "0"
				if c.OfferID == w.networkOffer {
					n = strconv.FormatInt(w.network, 10)
				}
				return n + "/" + strconv.FormatInt(c.OfferID, 10)
			}))
		res = run(report.Query{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), GroupBy: []string{"day"},
			Filters: map[string][]int64{"affiliate_network": {w.network}}})
		check(t, "days of one affiliate network", res, func(r report.Row) string { return r.Dims["day"] },
			func() map[string]*store.Stats {
				all := w.expected(func(c *track.Click) string {
					if c.OfferID != w.networkOffer {
						return "-"
					}
					return c.CreatedAt.Format("2006-01-02")
				})
				delete(all, "-")
				return all
			}())
		// Conditions on the clicks' own values.
		only := func(keep func(*track.Click) bool) map[string]*store.Stats {
			all := w.expected(func(c *track.Click) string {
				if !keep(c) {
					return "-"
				}
				return strconv.FormatInt(c.CampaignID, 10)
			})
			delete(all, "-")
			return all
		}
		for _, c := range []struct {
			where []string
			keep  func(*track.Click) bool
		}{
			{[]string{"country in US,DE"}, func(c *track.Click) bool { return c.Country == "US" || c.Country == "DE" }},
			{[]string{"country not_in US,DE"}, func(c *track.Click) bool { return c.Country != "US" && c.Country != "DE" }},
			{[]string{"sub_id_1 contains Z 2"}, func(c *track.Click) bool { return c.SubIDs[0] == "z 2" }},
			{[]string{`sub_id_1 contains "`}, func(c *track.Click) bool { return c.SubIDs[0] == `z"3` }},
			{[]string{"sub_id_1 regex ^z[13]"}, func(c *track.Click) bool { return c.SubIDs[0] == "z1" }},
			{[]string{"sub_id_1 empty", "country not_empty"}, func(c *track.Click) bool { return c.SubIDs[0] == "" && c.Country != "" }},
		} {
			res := run(report.Query{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), GroupBy: []string{"campaign"},
				Where: c.where})
			check(t, strings.Join(c.where, " & "), res, func(r report.Row) string { return r.Dims["campaign"] }, only(c.keep))
		}
		// Two time zones put the same clicks in different days.
		utc := run(report.Query{Range: "last_7_days", Timezone: "UTC", GroupBy: []string{"day"}})
		ny := run(report.Query{Range: "last_7_days", Timezone: "America/New_York", GroupBy: []string{"day"}})
		if fmt.Sprint(utc.Rows) == fmt.Sprint(ny.Rows) {
			t.Error("days in UTC and in New York are the same")
		}
		// Sorting, paging, having.
		res = run(report.Query{Range: "last_7_days", GroupBy: []string{"campaign"}, Sort: "-clicks", Limit: 2,
			Having: []string{"clicks > 1"}})
		if res.Count != 3 || len(res.Rows) != 2 || res.Rows[0].Clicks < res.Rows[1].Clicks {
			t.Errorf("sorted page: count %d, rows %+v", res.Count, res.Rows)
		}
		res = run(report.Query{Range: "last_7_days", GroupBy: []string{"campaign"}, Having: []string{"clicks > 1000000"}})
		if len(res.Rows) != 0 || res.Total.Clicks != int64(len(w.clicks)) {
			t.Errorf("having: %d rows, total %d clicks", len(res.Rows), res.Total.Clicks)
		}
	})
}

func TestReportBadInput(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	w := newWorld(t, db)
	for _, c := range []struct{ query, field string }{
		{"group_by=nope&range=today", "group_by[0]"},
		{"group_by=day&range=today&timezone=Mars/Olympus", "timezone"},
		{"group_by=day&from=2026-11-02&to=2026-11-01", "from"},
		{"group_by=day&from=1990-01-01&to=2090-01-01", "to"},
		{"group_by=day&range=forever", "range"},
		{"group_by=day", "range"},
		{"group_by=day,day&range=today", "group_by[1]"},
		{"group_by=day,campaign,offer,stream&range=today", "group_by"},
		{"group_by=day&range=today&having=clicks+%3E+x", "having[0]"},
		{"group_by=day&range=today&having=nope+%3E+1", "having[0]"},
		{"group_by=day&range=today&sort=nope", "sort"},
		{"group_by=day&range=today&campaign=x", "campaign"},
		{"group_by=day&range=today&limit=0", "limit"},
		{"group_by=day&range=today&where=country+like+US", "where[0]"},
		{"group_by=day&range=today&where=nope+in+US", "where[0]"},
		{"group_by=day&range=today&where=keyword+regex+(a", "where[0]"},
		{"group_by=day&range=today&where=keyword+contains", "where[0]"},
		{"group_by=day&range=today&where=keyword+regex+(%3Fi)a", "where[0]"},
		{"group_by=day&range=today&where=keyword+regex+%5CpL", "where[0]"},
		{"group_by=day&range=today&" + strings.Repeat("campaign=1&", 1001), "filters.campaign"},
	} {
		body := call(t, "GET", w.url+"/api/v1/reports?"+c.query, w.key, "", 422)
		if !strings.Contains(body, `"field":"`+c.field+`"`) {
			t.Errorf("%s: %s, want field %s", c.query, body, c.field)
		}
	}
	body := call(t, "GET", w.url+"/api/v1/reports?group_by=campaign&range=last_7_days&format=csv", w.key, "", 200)
	if lines := strings.Split(strings.TrimSpace(body), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[0], "campaign,clicks,") {
		t.Errorf("CSV export:\n%s", body)
	}
	call(t, "POST", w.url+"/api/v1/reports", w.key, `{"group_by":["day"],"range":"today","timezone":"Europe/Berlin"}`, 200)
	call(t, "PATCH", w.url+"/api/v1/settings", w.key, `{"click_retention_days":-1}`, 422)
	api.ReportTimeout = time.Nanosecond // a report that takes too long: 503, not 500
	call(t, "GET", w.url+"/api/v1/reports?group_by=country&range=last_7_days", w.key, "", 503)
	api.ReportTimeout = 2 * time.Minute
	call(t, "GET", w.url+`/api/v1/reports?group_by=sub_id_1&range=today&where=sub_id_1+regex+%5Ez%5Cd%5C.%5Bx-y%5D`, w.key, "", 200)
	call(t, "PATCH", w.url+"/api/v1/settings", w.key, `{"click_retention_days":90}`, 200)
}

// TestDaylightSavingTime: days and hours in a zone are its own across a
// change of its UTC offset (New York, 2026-11-01: 25 hours).
func TestDaylightSavingTime(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var clicks []track.Click
		want := map[string]int64{}
		ny, _ := time.LoadLocation("America/New_York")
		for at := time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC); at.Before(time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)); at = at.Add(20 * time.Minute) {
			clicks = append(clicks, track.Click{ClickID: fmt.Sprint("c", at.Unix()), CreatedAt: at, CampaignID: 1})
			if l := at.In(ny); !l.Before(time.Date(2026, 10, 31, 0, 0, 0, 0, ny)) && l.Before(time.Date(2026, 11, 3, 0, 0, 0, 0, ny)) {
				want[l.Format("2006-01-02")]++
			}
		}
		if err := db.InsertClicks(ctx, clicks); err != nil {
			t.Fatal(err)
		}
		res, err := report.Run(ctx, db, report.Query{From: "2026-10-31", To: "2026-11-02", Timezone: "America/New_York",
			GroupBy: []string{"day"}}, "UTC", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, r := range res.Rows {
			got[r.Dims["day"]] = r.Clicks
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || want["2026-11-01"] != 75 {
			t.Errorf("days across the change: %v, want %v (25 hours of 3 clicks on Nov 1)", got, want)
		}
	})
}

// TestCostUpdate: a campaign's cost for a day, spread over its clicks (or
// those of one sub id), is exactly that day's cost in the report; other
// days and campaigns keep theirs.
func TestCostUpdate(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		c0 := w.clicks[0].CampaignID
		day := time.Now().UTC().AddDate(0, 0, -2).Format("2006-01-02")
		before := w.expected(func(c *track.Click) string {
			return c.CreatedAt.Format("2006-01-02") + "/" + strconv.FormatInt(c.CampaignID, 10)
		})
		var ans struct {
			Clicks int
			Cost   track.Money
		}
		json.Unmarshal([]byte(call(t, "POST", w.url+"/api/v1/costs", w.key,
			fmt.Sprintf(`{"campaign_id":%d,"from":"%s","to":"%s","cost":"100.01","currency":"EUR"}`, c0, day, day), 200)), &ans)
		want := int64(100_010_000) * 108 / 100 // 108.0108 USD
		if ans.Cost != track.Money(want) || int64(ans.Clicks) != before[day+"/"+strconv.FormatInt(c0, 10)].Clicks {
			t.Fatalf("cost update: %+v, want %s over %d clicks", ans, track.Money(want), before[day+"/"+strconv.FormatInt(c0, 10)].Clicks)
		}
		res, err := report.Run(ctx, db, report.Query{Range: "last_7_days", GroupBy: []string{"day", "campaign"}}, "UTC", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Rows {
			k := r.Dims["day"] + "/" + r.Dims["campaign"]
			exp := before[k].Cost
			if k == day+"/"+strconv.FormatInt(c0, 10) {
				exp = want
			}
			if int64(r.Cost) != exp {
				t.Errorf("cost of %s = %s, want %s", k, r.Cost, track.Money(exp))
			}
		}
		// Each click of the day (as the click log shows it) has an even
		// share, the odd micro-units going to the first ones.
		var got []int64
		var sum int64
		for _, c := range w.clicks {
			if c.CampaignID == c0 && c.CreatedAt.Format("2006-01-02") == day {
				stored, err := db.Click(ctx, c.ClickID)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, int64(stored.Cost))
				sum += int64(stored.Cost)
			}
		}
		if share := want / int64(len(got)); sum != want || slices.Min(got) != share || slices.Max(got) > share+1 {
			t.Errorf("the clicks' costs %v sum to %d, want %d in shares of %d or %d", got, sum, want, share, share+1)
		}
		// The raw clicks and the daily rollup by value agree.
		daySums := func(dim string) (sum int64, z1 int64, source string) {
			t.Helper()
			res, err := report.Run(ctx, db, report.Query{Range: "last_7_days", GroupBy: []string{"day", dim},
				Filters: map[string][]int64{"campaign": {c0}}}, "UTC", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res.Rows {
				if r.Dims["day"] == day {
					sum += int64(r.Cost)
					if r.Dims[dim] == "z1" {
						z1 = int64(r.Cost)
					}
				}
			}
			return sum, z1, res.Source
		}
		for _, dim := range []string{"sub_id_1", "country"} {
			if sum, _, source := daySums(dim); sum != want {
				t.Errorf("%s by %s: the day costs %s, want %s", source, dim, track.Money(sum), track.Money(want))
			}
		}
		// One sub id only: its clicks share 5 EUR, the others keep theirs.
		call(t, "POST", w.url+"/api/v1/costs", w.key, fmt.Sprintf(`{"campaign_id":%d,"from":"%s","to":"%s","cost":"5","sub_id_1":"z1"}`, c0, day, day), 200)
		sum, z1, _ := daySums("sub_id_1")
		if z1 != 5_000_000 {
			t.Errorf("sub id z1 costs %s, want 5 (USD, the account's)", track.Money(z1))
		}
		if total, _, source := daySums("country"); total != sum {
			t.Errorf("%s by country: the day costs %s, by sub id %s", source, track.Money(total), track.Money(sum))
		}
		// Bad input.
		for _, body := range []string{`{"from":"2026-01-01","to":"2026-01-02","cost":"1"}`,
			fmt.Sprintf(`{"campaign_id":%d,"from":"2026-01-02","to":"2026-01-01","cost":"1"}`, c0),
			fmt.Sprintf(`{"campaign_id":%d,"range":"x","cost":"1"}`, c0),
			fmt.Sprintf(`{"campaign_id":%d,"from":"2026-01-01","to":"2026-01-02","cost":"-1"}`, c0),
			fmt.Sprintf(`{"campaign_id":%d,"from":"2026-01-01","to":"2026-01-02","cost":"1","currency":"XYZ"}`, c0),
		} {
			code := 422
			if strings.Contains(body, `"range"`) {
				code = 400 // not a field of the body
			}
			call(t, "POST", w.url+"/api/v1/costs", w.key, body, code)
		}
		call(t, "POST", w.url+"/api/v1/costs", w.key, `{"campaign_id":999,"from":"2026-01-01","to":"2026-01-02","cost":"1"}`, 404)
	})
}

// TestConversionCosts: under cpa and revshare cost models, each
// conversion's cost follows its status (a lead then sale costs the cpa
// once, a rejection takes it back) and the reports' cost matches.
func TestConversionCosts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db, "cpa", "revshare")
		res, err := report.Run(context.Background(), db, report.Query{Range: "last_7_days", GroupBy: []string{"campaign"}},
			"UTC", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		check(t, "campaign with cpa and revshare costs", res, func(r report.Row) string { return r.Dims["campaign"] },
			w.expected(func(c *track.Click) string { return strconv.FormatInt(c.CampaignID, 10) }))
		// Raw rows agree.
		res, err = report.Run(context.Background(), db, report.Query{Range: "last_7_days", GroupBy: []string{"campaign", "country"}},
			"UTC", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		check(t, "campaign × country with cpa and revshare costs", res,
			func(r report.Row) string { return r.Dims["campaign"] + "/" + r.Dims["country"] },
			w.expected(func(c *track.Click) string { return strconv.FormatInt(c.CampaignID, 10) + "/" + c.Country }))
	})
}

// TestRetention: purged raw clicks leave the hourly statistics, so that
// reports by time and objects still cover the purged days.
func TestRetention(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		q := report.Query{Range: "last_7_days", GroupBy: []string{"day", "campaign"}}
		before, err := report.Run(ctx, db, q, "UTC", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cut := time.Now().UTC().Add(-48 * time.Hour)
		old := 0
		for _, c := range w.clicks {
			if c.CreatedAt.Before(cut) {
				old++
			}
		}
		total := 0
		for {
			n, err := db.PurgeClicks(ctx, cut, 100)
			if err != nil {
				t.Fatal(err)
			}
			total += n
			if n < 100 {
				break
			}
		}
		if total != old {
			t.Errorf("purged %d clicks, want the %d older than %s", total, old, cut)
		}
		after, err := report.Run(ctx, db, q, "UTC", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(before.Rows) != fmt.Sprint(after.Rows) {
			t.Error("a report by day and campaign changed when raw clicks were purged")
		}
		raw, err := report.Run(ctx, db, report.Query{Range: "last_7_days", GroupBy: []string{"sub_id_1"}}, "UTC", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if raw.Source != "raw" || raw.Total.Clicks != int64(len(w.clicks)-old) {
			t.Errorf("%s report counts %d clicks, want the %d kept", raw.Source, raw.Total.Clicks, len(w.clicks)-old)
		}
		// The daily rollup by value keeps them.
		daily, err := report.Run(ctx, db, report.Query{Range: "last_7_days", GroupBy: []string{"country"}}, "UTC", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if daily.Source != "daily" || daily.Total.Clicks != int64(len(w.clicks)) {
			t.Errorf("%s report by country counts %d clicks, want all %d", daily.Source, daily.Total.Clicks, len(w.clicks))
		}
	})
}

// rolled is the value of a rolled dimension of c as reports name it.
func rolled(dim string, c *track.Click) string {
	yesNo := map[bool]string{true: "yes", false: "no"}
	return map[string]string{"country": c.Country, "region": c.Region, "device_type": c.DeviceType, "os": c.OS,
		"browser": c.Browser, "language": c.Language, "connection_type": c.ConnectionType, "bot": yesNo[c.IsBot],
		"unique": yesNo[c.UniqueCampaign]}[dim]
}

func TestDailyRollupMatchesRawRows(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		run := func(tz string, q report.Query) *report.Result {
			t.Helper()
			q.Range, q.Timezone = "last_7_days", tz
			res, err := report.Run(ctx, db, q, "UTC", time.Now())
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			return res
		}
		day := func(loc *time.Location, c *track.Click) string { return c.CreatedAt.In(loc).Format("2006-01-02") }
		// Every rolled value by day, and by campaign and offer.
		for _, dim := range store.RolledDims[1:] {
			res := run("UTC", report.Query{GroupBy: []string{"day", dim}})
			if res.Source != "daily" {
				t.Errorf("day × %s read %s", dim, res.Source)
			}
			check(t, "day × "+dim, res, func(r report.Row) string { return r.Dims["day"] + "/" + r.Dims[dim] },
				w.expected(func(c *track.Click) string { return day(time.UTC, c) + "/" + rolled(dim, c) }))
			res = run("UTC", report.Query{GroupBy: []string{dim, "campaign", "offer"}})
			check(t, dim+" × campaign × offer", res,
				func(r report.Row) string { return r.Dims[dim] + "/" + r.Dims["campaign"] + "/" + r.Dims["offer"] },
				w.expected(func(c *track.Click) string {
					return rolled(dim, c) + "/" + strconv.FormatInt(c.CampaignID, 10) + "/" + strconv.FormatInt(c.OfferID, 10)
				}))
		}
		// Conditions on one rolled value, including its empty value.
		c0 := w.clicks[0].CampaignID
		for _, c := range []struct {
			where []string
			keep  func(*track.Click) bool
		}{
			{[]string{"country in US,DE"}, func(c *track.Click) bool { return c.Country == "US" || c.Country == "DE" }},
			{[]string{"country not_in US,DE"}, func(c *track.Click) bool { return c.Country != "US" && c.Country != "DE" }},
			{[]string{"region contains DE-F"}, func(c *track.Click) bool { return c.Region == "Île-de-France" }},
			{[]string{"os regex ^(iOS|)$"}, func(c *track.Click) bool { return c.OS == "iOS" || c.OS == "" }},
			{[]string{"language empty"}, func(c *track.Click) bool { return c.Language == "" }},
			{[]string{"browser not_empty", "browser not_in Safari"}, func(c *track.Click) bool { return c.Browser == "Chrome" }},
			{[]string{"bot in no"}, func(c *track.Click) bool { return !c.IsBot }},
		} {
			res := run("UTC", report.Query{GroupBy: []string{"week", "offer"}, Where: c.where,
				Filters: map[string][]int64{"campaign": {c0}}})
			if res.Source != "daily" {
				t.Errorf("%v read %s", c.where, res.Source)
			}
			check(t, strings.Join(c.where, " & "), res, func(r report.Row) string { return r.Dims["week"] + "/" + r.Dims["offer"] },
				func() map[string]*store.Stats {
					all := w.expected(func(ck *track.Click) string {
						if ck.CampaignID != c0 || !c.keep(ck) {
							return "-"
						}
						t := ck.CreatedAt
						return fmt.Sprintf("%s/%d", t.AddDate(0, 0, -((int(t.Weekday())+6)%7)).Format("2006-01-02"), ck.OfferID)
					})
					delete(all, "-")
					return all
				}())
		}
		// What the daily rollup cannot answer is read elsewhere, right.
		for _, q := range []report.Query{
			{GroupBy: []string{"country", "os"}},
			{GroupBy: []string{"country", "stream"}},
			{GroupBy: []string{"hour", "country"}},
			{GroupBy: []string{"country"}, ConversionTime: true},
		} {
			if res := run("UTC", q); res.Source == "daily" {
				t.Errorf("%v read the daily rollup", q.GroupBy)
			}
		}
		check(t, "country × os", run("UTC", report.Query{GroupBy: []string{"country", "os"}}),
			func(r report.Row) string { return r.Dims["country"] + "/" + r.Dims["os"] },
			w.expected(func(c *track.Click) string { return c.Country + "/" + c.OS }))

		// Another zone: the days before the change are read elsewhere until
		// the backfill has rebuilt them, then from the rollup, right.
		st, err := db.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st.Timezone = "America/New_York"
		if err := db.SaveSettings(ctx, st); err != nil {
			t.Fatal(err)
		}
		ny, _ := time.LoadLocation("America/New_York")
		want := w.expected(func(c *track.Click) string { return day(ny, c) + "/" + c.Country })
		key := func(r report.Row) string { return r.Dims["day"] + "/" + r.Dims["country"] }
		res := run("America/New_York", report.Query{GroupBy: []string{"day", "country"}})
		if res.Source == "daily" {
			t.Error("a new zone's days are read from the rollup before they were rebuilt")
		}
		check(t, "day × country in New York before the backfill", res, key, want)
		// A conversion changes while the days are rebuilt.
		var changed *conv
		for _, cv := range w.convs {
			if cv.status == track.StatusLead {
				changed = cv
				break
			}
		}
		steps := 0
		for {
			done, err := db.BackfillDims(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if done {
				break
			}
			if steps++; steps == 2 {
				call(t, "GET", fmt.Sprintf("%s/postback?subid=%s&status=sale&tid=A&key=%s", w.url, changed.click.ClickID, postbackKey(t, db)), "", "", 200)
				changed.status = track.StatusSale
				want = w.expected(func(c *track.Click) string { return day(ny, c) + "/" + c.Country })
			}
		}
		if steps < 4 {
			t.Errorf("backfilled %d days, want at least the 4 with clicks", steps)
		}
		res = run("America/New_York", report.Query{GroupBy: []string{"day", "country"}})
		if res.Source != "daily" {
			t.Errorf("after the backfill the report read %s", res.Source)
		}
		check(t, "day × country in New York after the backfill", res, key, want)
		// UTC is now another zone: its reports are right, elsewhere.
		check(t, "day × country in UTC", run("UTC", report.Query{GroupBy: []string{"day", "country"}}), key,
			w.expected(func(c *track.Click) string { return day(time.UTC, c) + "/" + c.Country }))
	})
}

func postbackKey(t *testing.T, db *store.DB) string {
	t.Helper()
	s, err := db.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.PostbackKey
}

// TestExportMatchesReport streams reports as CSV and compares them with the
// same reports built in memory, across a daylight saving change.
func TestExportMatchesReport(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		from, to := w.clicks[0].CreatedAt.Add(-time.Hour), time.Now().Add(time.Hour)
		rfc := func(q report.Query) report.Query {
			q.From, q.To = from.Format(time.RFC3339), to.Format(time.RFC3339)
			return q
		}
		for _, q := range []report.Query{
			rfc(report.Query{GroupBy: []string{"day", "campaign"}, Timezone: "America/New_York"}),
			rfc(report.Query{GroupBy: []string{"week", "sub_id_1"}}),
			rfc(report.Query{GroupBy: []string{"sub_id_1", "hour", "offer"}, Timezone: "Asia/Kolkata"}),
			rfc(report.Query{GroupBy: []string{"day_of_week", "hour"}, Where: []string{"sub_id_1 not_empty"}}),
			rfc(report.Query{GroupBy: []string{"sub_id_1", "day"}, Having: []string{"conversions > 0"}, Offset: 3, Limit: 5}),
			rfc(report.Query{GroupBy: []string{"sub_id_1"}, Sort: "-revenue"}),
			rfc(report.Query{GroupBy: []string{"sub_id_1", "day"}, Sort: "-sub_id_1"}),
			{Range: "last_7_days", GroupBy: []string{"country", "offer"}},
			rfc(report.Query{GroupBy: []string{"affiliate_network", "country"}}),
		} {
			var buf strings.Builder
			cw := csv.NewWriter(&buf)
			if err := report.Export(ctx, db, q, "UTC", time.Now(), cw); err != nil {
				t.Fatalf("export %v: %v", q.GroupBy, err)
			}
			recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if q.Limit == 0 {
				q.Limit = report.MaxRows
			}
			res, err := report.Run(ctx, db, q, "UTC", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for _, r := range res.Rows {
				var rec []string
				for _, d := range q.GroupBy {
					rec = append(rec, r.Dims[d])
				}
				want[strings.Join(append(rec, r.Values()...), ",")] = true
			}
			if len(recs)-1 != len(want) || len(want) == 0 {
				t.Errorf("%v: %d rows exported, %d in the report", q.GroupBy, len(recs)-1, len(want))
			}
			if len(recs) > 0 && strings.Join(recs[0], ",") != strings.Join(append(append([]string{}, q.GroupBy...), report.MetricNames...), ",") {
				t.Errorf("%v: header %v", q.GroupBy, recs[0])
			}
			for _, rec := range recs[1:] {
				if k := strings.Join(rec, ","); !want[k] {
					t.Errorf("%v: exported row %s is not in the report", q.GroupBy, k)
					break
				}
			}
			// A sort holds in the file.
			for i := 2; q.Sort == "-sub_id_1" && i < len(recs); i++ {
				if recs[i][0] > recs[i-1][0] {
					t.Errorf("sorted by -sub_id_1, %q comes after %q", recs[i][0], recs[i-1][0])
				}
			}
		}
	})
}

// TestExportAcrossDaylightSaving exports days across New York's change to
// winter time: the day of the change is one row per campaign.
func TestExportAcrossDaylightSaving(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		se := servertest.StartHandler(t, db, server.Config{})
		offer := se.Create("/offers", `{"name":"o","url":"https://o.example/"}`)
		camp := se.Create("/campaigns", fmt.Sprintf(`{"alias":"dst","name":"dst","streams":[{"type":"default","offers":[{"offer_id":%d}]}]}`, offer))
		secret, _ := db.Secret(ctx, store.SecretClickID)
		ids, _ := clickid.NewGenerator(secret)
		// A click every hour of [from, to), with a raw value so that the
		// export reads raw rows.
		hourly := func(from, to time.Time) {
			t.Helper()
			var clicks []track.Click
			for at := from; at.Before(to); at = at.Add(time.Hour) {
				c := track.Click{ClickID: ids.New(at).String(), CreatedAt: at, CampaignID: camp, Cost: 1000}
				c.SubIDs[0] = "z"
				clicks = append(clicks, c)
			}
			if err := db.InsertClicks(ctx, clicks); err != nil {
				t.Fatal(err)
			}
		}
		// From Oct 31 to Nov 3 2026 UTC (the change is Nov 1, 06:00 UTC).
		hourly(time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC))
		var buf strings.Builder
		q := report.Query{From: "2026-10-31", To: "2026-11-02", Timezone: "America/New_York", GroupBy: []string{"day", "sub_id_1"}}
		if err := report.Export(ctx, db, q, "UTC", time.Now(), csv.NewWriter(&buf)); err != nil {
			t.Fatal(err)
		}
		recs, _ := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
		got := map[string]string{}
		for _, r := range recs[1:] {
			got[r[0]] = r[2] // clicks
		}
		want := map[string]string{"2026-10-31": "24", "2026-11-01": "25", "2026-11-02": "19"}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(recs) != 4 {
			t.Errorf("clicks by New York day: %v (%d rows), want %v", got, len(recs)-1, want)
		}
		// And to summer time (March 14, 2027, 07:00 UTC): a day of 23 hours,
		// exported and built in memory.
		hourly(time.Date(2027, 3, 13, 5, 0, 0, 0, time.UTC), time.Date(2027, 3, 16, 4, 0, 0, 0, time.UTC))
		want = map[string]string{"2027-03-13": "24", "2027-03-14": "23", "2027-03-15": "24"}
		for _, dims := range [][]string{{"day", "sub_id_1"}, {"day"}} {
			q = report.Query{From: "2027-03-13", To: "2027-03-15", Timezone: "America/New_York", GroupBy: dims}
			buf.Reset()
			if err := report.Export(ctx, db, q, "UTC", time.Now(), csv.NewWriter(&buf)); err != nil {
				t.Fatal(err)
			}
			recs, _ = csv.NewReader(strings.NewReader(buf.String())).ReadAll()
			got = map[string]string{}
			for _, r := range recs[1:] {
				got[r[0]] = r[len(dims)]
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%v exported by New York day: %v, want %v", dims, got, want)
			}
			res, err := report.Run(ctx, db, q, "UTC", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			got = map[string]string{}
			for _, r := range res.Rows {
				got[r.Dims["day"]] = strconv.FormatInt(r.Clicks, 10)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%v by New York day: %v, want %v", dims, got, want)
			}
		}
	})
}

// TestPostbackSubIDsReachReports: a sub id a postback sets on its click is
// in reports by that sub id.
func TestPostbackSubIDsReachReports(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		c := &w.clicks[len(w.clicks)/2]
		call(t, "GET", fmt.Sprintf("%s/postback?subid=%s&status=lead&tid=S&sub_id_3=from-network&key=%s", w.url, c.ClickID,
			postbackKey(t, db)), "", "", 200)
		res, err := report.Run(context.Background(), db, report.Query{Range: "last_7_days", GroupBy: []string{"sub_id_3", "campaign"},
			Where: []string{"sub_id_3 not_empty"}}, "UTC", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 1 || res.Rows[0].Dims["sub_id_3"] != "from-network" || res.Rows[0].Clicks != 1 ||
			res.Rows[0].Dims["campaign"] != strconv.FormatInt(c.CampaignID, 10) {
			t.Errorf("rows by sub_id_3: %+v", res.Rows)
		}
	})
}
