package click_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/click"
	"github.com/trackd/trackd/internal/clickid"
	"github.com/trackd/trackd/internal/enrich"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/store/storetest"
	"github.com/trackd/trackd/internal/track"
)

// rig is a click path over real HTTP on a real store.
type rig struct {
	t   testing.TB
	db  *store.DB
	h   *click.Handler
	srv *httptest.Server
	ids *clickid.Generator
}

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
const iphoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

func newRig(t testing.TB, db *store.DB, durability string) *rig {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Init(ctx, "admin", "0123456789"); err != nil {
		t.Fatal(err)
	}
	s, err := db.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.ClickDurability = durability
	s.TrustedProxies = []string{"127.0.0.1", "::1"}
	if err := db.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	key, err := db.Secret(ctx, store.SecretClickID)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := clickid.NewGenerator(key)
	if err != nil {
		t.Fatal(err)
	}
	en, err := enrich.New(enrich.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { en.Close() })
	snap, err := click.Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := click.New(snap, db, ids, en, log, click.Options{})
	mux := http.NewServeMux()
	mux.Handle("GET /{alias}", h)
	mux.HandleFunc("GET /lp/click", h.ServeLandingClick)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		h.Close(context.Background())
	})
	return &rig{t: t, db: db, h: h, srv: srv, ids: ids}
}

// reload applies configuration changes made in the store.
func (r *rig) reload() {
	r.t.Helper()
	if err := r.h.Reload(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// flush waits until every queued click is written (async mode).
func (r *rig) flush() {
	r.t.Helper()
	if err := r.h.Close(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// visitor is a browser: its own cookies, its own IP (sent through the
// trusted proxy), its own user agent.
type visitor struct {
	ip, ua, lang, referrer string
	cookies                []*http.Cookie
}

type answer struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (r *rig) visit(v *visitor, path string) answer {
	r.t.Helper()
	req, err := http.NewRequest("GET", r.srv.URL+path, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	if v.ip != "" {
		req.Header.Set("X-Forwarded-For", v.ip)
	}
	req.Header.Set("User-Agent", v.ua)
	req.Header.Set("Accept", "text/html")
	// Browsers always send a language; without one the bot check trips.
	lang := v.lang
	if lang == "" {
		lang = "en-US,en;q=0.9"
	}
	req.Header.Set("Accept-Language", lang)
	if v.referrer != "" {
		req.Header.Set("Referer", v.referrer)
	}
	for _, c := range v.cookies {
		req.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		kept := v.cookies[:0]
		for _, old := range v.cookies {
			if old.Name != c.Name {
				kept = append(kept, old)
			}
		}
		v.cookies = append(kept, c)
	}
	return answer{status: res.StatusCode, location: res.Header.Get("Location"), body: string(b), header: res.Header}
}

// clickOf returns the stored click whose id is in the location's query
// parameter param.
func (r *rig) clickOf(location, param string) track.Click {
	r.t.Helper()
	u, err := url.Parse(location)
	if err != nil {
		r.t.Fatal(err)
	}
	id := u.Query().Get(param)
	if _, err := r.ids.Parse(id); err != nil {
		r.t.Fatalf("location %s: %s=%q is not a valid click id: %v", location, param, id, err)
	}
	c, err := r.db.Click(context.Background(), id)
	if err != nil {
		r.t.Fatalf("click %s not in the store: %v", id, err)
	}
	return c
}

func mustOffer(t testing.TB, db *store.DB, name, u string) int64 {
	t.Helper()
	o := track.Offer{Name: name, URL: u}
	o.Normalize("USD")
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateOffer(context.Background(), &o); err != nil {
		t.Fatal(err)
	}
	return o.ID
}

func mustCampaign(t testing.TB, db *store.DB, c track.Campaign) track.Campaign {
	t.Helper()
	c.Normalize("USD")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateCampaign(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRedirectRecordsTheClick(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, "sync")
		ctx := context.Background()
		src := track.TrafficSource{Name: "Push", Params: []track.SourceParam{
			{Slot: "external_id", Param: "cid"}, {Slot: "cost", Param: "cost"}, {Slot: "currency", Param: "cur"},
			{Slot: "sub_id_1", Param: "zone"}, {Slot: "sub_id_30", Param: "last"}, {Slot: "creative_id", Param: "cr"},
			{Slot: "keyword", Param: "kw"}, {Slot: "source", Param: "site"}, {Slot: "ad_campaign_id", Param: "acid"},
		}}
		src.Normalize()
		if err := db.CreateTrafficSource(ctx, &src); err != nil {
			t.Fatal(err)
		}
		eur := track.CurrencyRate{Currency: "EUR", Rate: 1_100_000_000}
		if _, err := db.PutCurrencyRate(ctx, &eur); err != nil {
			t.Fatal(err)
		}
		offer := mustOffer(t, db, "O", "https://offer.example/go?aff_sub={clickid}&s1={sub_id_1}&kw={keyword}&raw={_param:raw}&p={param:raw}&ua={user_agent}&c={country}&ext={external_id}")
		c := mustCampaign(t, db, track.Campaign{Alias: "push", Name: "Push", TrafficSourceID: &src.ID,
			Cost:    track.Cost{Model: "cpc", Amount: 10_000, FromParam: true},
			Streams: []track.Stream{{Type: "default", Offers: []track.OfferShare{{OfferID: offer}}}}})
		r.reload()

		v := &visitor{ip: "8.8.8.8", ua: iphoneUA, lang: "de-DE,de;q=0.9", referrer: "https://pub.example/page"}
		a := r.visit(v, "/PUSH?cid=ext-1&cost=0.005&cur=eur&zone=z%2042&last=L&cr=7&kw=cheap+shoes&site=pub.example&acid=99&raw=a%26b&junk=1")
		if a.status != http.StatusFound || !strings.HasPrefix(a.location, "https://offer.example/go?") {
			t.Fatalf("answer %d %q, want a 302 to the offer", a.status, a.location)
		}
		ck := r.clickOf(a.location, "aff_sub")
		u, _ := url.Parse(a.location)
		q := u.Query()
		for k, want := range map[string]string{"s1": "z 42", "kw": "cheap shoes", "p": "a&b", "c": "US", "ext": "ext-1", "ua": iphoneUA} {
			if got := q.Get(k); got != want {
				t.Errorf("offer URL %s = %q, want %q (%s)", k, got, want, a.location)
			}
		}
		if !strings.Contains(a.location, "raw=a&b") {
			t.Errorf("raw macro was encoded: %s", a.location)
		}
		want := map[string]any{
			"campaign": c.ID, "stream": c.Streams[0].ID, "offer": offer, "source": src.ID,
			"external": "ext-1", "sub1": "z 42", "sub30": "L", "creative": "7", "keyword": "cheap shoes", "site": "pub.example",
			"acid": "99", "cost": track.Money(5500), "orig": track.Money(5000), "cur": "EUR", "country": "US",
			"device": "mobile", "os": "iOS", "lang": "de", "ref": "https://pub.example/page", "ip": "8.8.8.8",
			"unique": true, "bot": false,
		}
		got := map[string]any{
			"campaign": ck.CampaignID, "stream": ck.StreamID, "offer": ck.OfferID, "source": ck.TrafficSourceID,
			"external": ck.ExternalID, "sub1": ck.SubIDs[0], "sub30": ck.SubIDs[29], "creative": ck.CreativeID, "keyword": ck.Keyword,
			"site": ck.Source, "acid": ck.AdCampaignID, "cost": ck.Cost, "orig": ck.OriginalCost, "cur": ck.CostCurrency,
			"country": ck.Country, "device": ck.DeviceType, "os": ck.OS, "lang": ck.Language, "ref": ck.Referrer, "ip": ck.IP,
			"unique": ck.UniqueCampaign, "bot": ck.IsBot,
		}
		for k, w := range want {
			if g := got[k]; g != w {
				t.Errorf("click %s = %v (%T), want %v (%T)", k, g, g, w, w)
			}
		}
		if !strings.Contains(ck.Query, "junk=1") {
			t.Errorf("raw query not kept: %q", ck.Query)
		}
		if time.Since(ck.CreatedAt) > time.Minute {
			t.Errorf("click time %v", ck.CreatedAt)
		}
		// Same visitor again: not unique; a bad cost falls back to the CPC.
		a = r.visit(v, "/push?cid=ext-2&cost=abc")
		ck = r.clickOf(a.location, "aff_sub")
		if ck.UniqueCampaign || ck.UniqueGlobal {
			t.Errorf("second visit is unique: %+v", ck)
		}
		if ck.Cost != 10_000 {
			t.Errorf("bad cost param: cost %v, want the CPC 0.01", ck.Cost)
		}
	})
}

func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
