package click

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// TestClick is a request to simulate: what a visitor would send.
type TestClick struct {
	// Alias names the campaign.
	Alias string `json:"alias"`
	// Query is the campaign link's query string, e.g. "zone=12&cost=0.01".
	Query          string `json:"query"`
	IP             string `json:"ip"`
	UserAgent      string `json:"user_agent"`
	Referrer       string `json:"referrer"`
	AcceptLanguage string `json:"accept_language"`
}

// TestResult explains where a visitor would go and why.
type TestResult struct {
	Campaign int64 `json:"campaign_id"`
	// Click is the click as it would be recorded (id and uniqueness aside).
	Click   track.Click    `json:"click"`
	Streams []StreamResult `json:"streams"`
	// StreamID, LandingID and OfferID are what was picked (0 for none).
	StreamID  int64 `json:"stream_id"`
	LandingID int64 `json:"landing_id"`
	OfferID   int64 `json:"offer_id"`
	// Action is "redirect", "landing", "text", "html", "not_found" or
	// "campaign" (then the result is the target campaign's).
	Action string `json:"action"`
	// URL is where the visitor would be sent, with a sample click id.
	URL string `json:"url"`
}

// StreamResult is one stream's verdict.
type StreamResult struct {
	ID      int64          `json:"id"`
	Name    string         `json:"name"`
	Type    string         `json:"type"`
	Paused  bool           `json:"paused"`
	Passed  bool           `json:"passed"`
	Filters []FilterResult `json:"filters"`
}

// FilterResult tells whether one filter let the visitor through.
type FilterResult struct {
	Type   string `json:"type"`
	Mode   string `json:"mode"`
	Passed bool   `json:"passed"`
}

// Simulate runs the click path for t without recording anything: no click,
// no uniqueness, no cookies. Uniqueness filters see a new visitor.
func (h *Handler) Simulate(t TestClick) (TestResult, error) {
	snap := h.snap.Load()
	c := snap.campaigns[strings.ToLower(t.Alias)]
	if c == nil {
		return TestResult{}, track.Invalid("alias", "no campaign with alias %q", t.Alias)
	}
	target := "/" + c.Alias
	if t.Query != "" {
		target += "?" + t.Query
	}
	r, err := http.NewRequest("GET", "http://simulation.invalid"+target, nil)
	if err != nil {
		return TestResult{}, track.Invalid("query", "not a usable query string: %v", err)
	}
	r.RemoteAddr = "192.0.2.1:1234"
	if t.IP != "" {
		a, err := netip.ParseAddr(t.IP)
		if err != nil {
			return TestResult{}, track.Invalid("ip", "%q is not an IP address", t.IP)
		}
		r.RemoteAddr = netip.AddrPortFrom(a, 1234).String()
	}
	r.Header.Set("User-Agent", t.UserAgent)
	r.Header.Set("Accept", "text/html")
	if t.Referrer != "" {
		r.Header.Set("Referer", t.Referrer)
	}
	if t.AcceptLanguage != "" {
		r.Header.Set("Accept-Language", t.AcceptLanguage)
	}
	for hops := 0; hops <= maxCampaignHops; hops++ {
		res, next, err := h.simulateOne(r, snap, c)
		if err != nil || next == nil {
			return res, err
		}
		c = next
	}
	return TestResult{}, errors.New("campaigns send visitors to each other in a loop")
}

func (h *Handler) simulateOne(r *http.Request, snap *Snapshot, c *campaign) (TestResult, *campaign, error) {
	now := time.Now().UTC()
	ck := &track.Click{CreatedAt: now.Truncate(time.Millisecond), CampaignID: c.ID,
		UniqueCampaign: true, UniqueStream: true, UniqueGlobal: true}
	if c.source != nil {
		ck.TrafficSourceID = c.source.ID
	}
	ip := ClientIP(r, nil)
	h.fill(ck, r, ip, snap, c)
	v := &visit{c: ck, ip: ip, query: r.URL.RawQuery, now: now}
	res := TestResult{Campaign: c.ID}
	var streams []*stream
	streams = append(streams, c.forced...)
	streams = append(streams, c.regular...)
	streams = append(streams, c.dflt...)
	for _, st := range c.streams {
		if st.Paused {
			streams = append(streams, st)
		}
	}
	for _, st := range streams {
		sr := StreamResult{ID: st.ID, Name: st.Name, Type: st.Type, Paused: st.Paused, Filters: []FilterResult{}}
		for i, f := range st.filters {
			sr.Filters = append(sr.Filters, FilterResult{Type: st.Stream.Filters[i].Type, Mode: st.Stream.Filters[i].Mode,
				Passed: f.match(v) == f.accept})
		}
		sr.Passed = !st.Paused && st.pass(v)
		res.Streams = append(res.Streams, sr)
	}
	d, ok := h.choose(r, snap, c, v)
	if !ok {
		res.Action = "not_found"
		res.Click = *ck
		return res, nil, nil
	}
	st := d.stream
	res.StreamID = st.ID
	if st.Schema == "action" && st.Action.Type == "campaign" {
		return res, snap.byID[st.Action.CampaignID], nil
	}
	ck.StreamID = st.ID
	if d.offer != nil {
		ck.OfferID, res.OfferID = d.offer.ID, d.offer.ID
	}
	if d.landing != nil {
		ck.LandingID, res.LandingID = d.landing.ID, d.landing.ID
	}
	ck.ClickID = h.ids.New(now).String()
	res.Click = *ck
	vals := &values{c: ck, campaign: c, query: r.URL.RawQuery}
	switch {
	case st.Schema == "action":
		res.Action = st.Action.Type
		if st.Action.Type == "url" {
			res.Action = "redirect"
			res.URL = string(st.action.Expand(nil, vals, now))
		}
	case d.landing != nil:
		res.Action = "landing"
		vals.offerURL = lpClickURL(r, snap, ck.ClickID)
		res.URL = string(d.landing.url.Expand(nil, vals, now))
	case d.offer != nil:
		res.Action = "redirect"
		res.URL = string(d.offer.url.Expand(nil, vals, now))
	default:
		res.Action = "not_found"
	}
	return res, nil, nil
}
