// Package click is the click path: GET /{alias} picks a stream and an offer
// or landing from an in-memory snapshot of the configuration, records the
// click through a batch writer and redirects. It reads no database per click.
package click

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/trackd/trackd/internal/macro"
	"github.com/trackd/trackd/internal/store"
	"github.com/trackd/trackd/internal/track"
)

// Snapshot is the configuration the click path reads: immutable once built,
// replaced as a whole when the configuration changes.
type Snapshot struct {
	Version  int64
	Settings track.Settings

	campaigns map[string]*campaign // by alias
	byID      map[int64]*campaign
	offers    map[int64]*offer
	landings  map[int64]*landing
	rates     map[string]track.Rate
	trusted   []netip.Prefix
	networks  map[int64]*Network
	netKeys   map[string]*Network // a network's own postback key → network
	sources   map[int64]*source
	webhooks  []track.Webhook
}

// Network is an affiliate network compiled for the postback path.
type Network struct {
	track.AffiliateNetwork
	Allow []netip.Prefix // IPAllowlist parsed
}

type campaign struct {
	track.Campaign
	postback *Postback // nil without one
	source   *source
	forced   []*stream
	regular  []*stream
	dflt     []*stream
	streams  map[int64]*stream
}

type stream struct {
	track.Stream
	campaign    *campaign
	filters     []filter
	offers      weighted[*offer]
	landings    weighted[*landing]
	offerByID   map[int64]*offer   // the active offers of the stream
	landingByID map[int64]*landing // the active landings of the stream
	action      *macro.Template    // for url actions
}

type offer struct {
	track.Offer
	url *macro.Template
}

type landing struct {
	track.Landing
	url *macro.Template
}

// source knows which query parameter fills which click slot.
type source struct {
	track.TrafficSource
	params   map[string]int // query parameter → slot (see slotIndex)
	postback *Postback      // nil without one
}

// Slots as small integers: 0..6 for the named slots in track.Slots order,
// slotSub+n-1 for sub_id_n.
const slotSub = 100

func slotIndex(slot string) int {
	for i, s := range track.Slots {
		if s == slot {
			return i
		}
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(slot, "sub_id_"))
	return slotSub + n - 1
}

// weighted picks items at random in proportion to their weights.
type weighted[T any] struct {
	items []T
	cum   []int // running sum of weights
}

func (w *weighted[T]) add(v T, weight int) {
	total := weight
	if n := len(w.cum); n > 0 {
		total += w.cum[n-1]
	}
	w.items = append(w.items, v)
	w.cum = append(w.cum, total)
}

func (w *weighted[T]) pick() (T, bool) {
	var zero T
	n := len(w.cum)
	if n == 0 {
		return zero, false
	}
	if n == 1 {
		return w.items[0], true
	}
	r := rand.IntN(w.cum[n-1])
	for i, c := range w.cum {
		if r < c {
			return w.items[i], true
		}
	}
	return w.items[n-1], true
}

// Load reads the configuration from the store and builds a snapshot.
func Load(ctx context.Context, db *store.DB) (*Snapshot, error) {
	version, err := db.ConfigVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("click: config version: %w", err)
	}
	var cfg Config
	cfg.Version = version
	if cfg.Settings, err = db.Settings(ctx); err != nil {
		return nil, err
	}
	// The zone of the daily statistics follows the account's, and another
	// node may have changed it.
	if err := db.LoadRollup(ctx); err != nil {
		return nil, err
	}
	if cfg.Campaigns, err = db.Campaigns(ctx); err != nil {
		return nil, err
	}
	if cfg.Offers, err = db.Offers(ctx); err != nil {
		return nil, err
	}
	if cfg.Landings, err = db.Landings(ctx); err != nil {
		return nil, err
	}
	if cfg.Sources, err = db.TrafficSources(ctx); err != nil {
		return nil, err
	}
	if cfg.Rates, err = db.CurrencyRates(ctx); err != nil {
		return nil, err
	}
	if cfg.Networks, err = db.AffiliateNetworks(ctx); err != nil {
		return nil, err
	}
	if cfg.Webhooks, err = db.Webhooks(ctx); err != nil {
		return nil, err
	}
	return Build(cfg)
}

// Config is everything a snapshot is built from.
type Config struct {
	Version   int64
	Settings  track.Settings
	Campaigns []track.Campaign
	Offers    []track.Offer
	Landings  []track.Landing
	Sources   []track.TrafficSource
	Rates     []track.CurrencyRate
	Networks  []track.AffiliateNetwork
	Webhooks  []track.Webhook
}

// Build compiles cfg: templates parsed, filters compiled, weights summed.
// Objects that the API let through always build; an error means the store
// holds something the API would refuse.
func Build(cfg Config) (*Snapshot, error) {
	s := &Snapshot{
		Version:   cfg.Version,
		Settings:  cfg.Settings,
		campaigns: make(map[string]*campaign, len(cfg.Campaigns)),
		byID:      make(map[int64]*campaign, len(cfg.Campaigns)),
		offers:    make(map[int64]*offer, len(cfg.Offers)),
		landings:  make(map[int64]*landing, len(cfg.Landings)),
		rates:     map[string]track.Rate{},
		networks:  make(map[int64]*Network, len(cfg.Networks)),
		netKeys:   map[string]*Network{},
		sources:   make(map[int64]*source, len(cfg.Sources)),
		webhooks:  cfg.Webhooks,
	}
	for _, n := range cfg.Networks {
		pn := &Network{AffiliateNetwork: n}
		for _, a := range n.IPAllowlist {
			pr, err := track.ParsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("click: network %d allow-list %q: %w", n.ID, a, err)
			}
			pn.Allow = append(pn.Allow, pr)
		}
		s.networks[n.ID] = pn
		if n.PostbackKey != "" {
			s.netKeys[n.PostbackKey] = pn
		}
	}
	for _, p := range cfg.Settings.TrustedProxies {
		pr, err := track.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("click: trusted proxy %q: %w", p, err)
		}
		s.trusted = append(s.trusted, pr)
	}
	for _, r := range cfg.Rates {
		s.rates[r.Currency] = r.Rate
	}
	for _, o := range cfg.Offers {
		t, err := macro.Parse(o.URL, macro.Click)
		if err != nil {
			return nil, fmt.Errorf("click: offer %d url: %w", o.ID, err)
		}
		s.offers[o.ID] = &offer{Offer: o, url: t}
	}
	for _, l := range cfg.Landings {
		t, err := macro.Parse(l.URL, macro.Click)
		if err != nil {
			return nil, fmt.Errorf("click: landing %d url: %w", l.ID, err)
		}
		s.landings[l.ID] = &landing{Landing: l, url: t}
	}
	sources := s.sources
	for _, src := range cfg.Sources {
		ps := &source{TrafficSource: src, params: map[string]int{}}
		for _, p := range src.Params {
			ps.params[p.Param] = slotIndex(p.Slot)
		}
		var err error
		if ps.postback, err = CompilePostback(track.Target(track.TargetSource, src.ID), src.Postback); err != nil {
			return nil, fmt.Errorf("click: %w", err)
		}
		sources[src.ID] = ps
	}
	for _, c := range cfg.Campaigns {
		pc := &campaign{Campaign: c, streams: map[int64]*stream{}}
		var err error
		if pc.postback, err = CompilePostback(track.Target(track.TargetCampaign, c.ID), c.Postback.SourcePostback); err != nil {
			return nil, fmt.Errorf("click: %w", err)
		}
		if c.TrafficSourceID != nil {
			pc.source = sources[*c.TrafficSourceID]
		}
		for _, st := range c.Streams {
			ps, err := s.buildStream(pc, st)
			if err != nil {
				return nil, fmt.Errorf("click: campaign %d stream %d: %w", c.ID, st.ID, err)
			}
			pc.streams[st.ID] = ps
			if st.Paused {
				continue
			}
			switch st.Type {
			case track.StreamForced:
				pc.forced = append(pc.forced, ps)
			case track.StreamDefault:
				pc.dflt = append(pc.dflt, ps)
			default:
				pc.regular = append(pc.regular, ps)
			}
		}
		pc.Streams = nil // the compiled streams above are what counts
		s.campaigns[c.Alias] = pc
		s.byID[c.ID] = pc
	}
	return s, nil
}

func (s *Snapshot) buildStream(c *campaign, st track.Stream) (*stream, error) {
	ps := &stream{Stream: st, campaign: c, offerByID: map[int64]*offer{}, landingByID: map[int64]*landing{}}
	for i, f := range st.Filters {
		cf, err := compileFilter(f)
		if err != nil {
			return nil, fmt.Errorf("filter %d: %w", i, err)
		}
		ps.filters = append(ps.filters, cf)
	}
	for _, sh := range st.Offers {
		if o := s.offers[sh.OfferID]; o != nil && !o.Paused {
			ps.offers.add(o, sh.Share)
			ps.offerByID[o.ID] = o
		}
	}
	for _, sh := range st.Landings {
		if l := s.landings[sh.LandingID]; l != nil && !l.Paused {
			ps.landings.add(l, sh.Share)
			ps.landingByID[l.ID] = l
		}
	}
	if st.Action != nil && st.Action.Type == "url" {
		t, err := macro.Parse(st.Action.URL, macro.Click)
		if err != nil {
			return nil, fmt.Errorf("action url: %w", err)
		}
		ps.action = t
	}
	return ps, nil
}

// Rate returns the value of one unit of currency in the account currency
// (1 for the account currency itself or "").
func (s *Snapshot) Rate(currency string) (track.Rate, bool) {
	if currency == "" || currency == s.Settings.AccountCurrency {
		return track.RateScale, true
	}
	r, ok := s.rates[currency]
	return r, ok
}

// Campaign returns a campaign by id (its streams compiled away), or nil.
func (s *Snapshot) Campaign(id int64) *track.Campaign {
	if c := s.byID[id]; c != nil {
		return &c.Campaign
	}
	return nil
}

// Offer returns an offer by id (paused ones too), or nil.
func (s *Snapshot) Offer(id int64) *track.Offer {
	if o := s.offers[id]; o != nil {
		return &o.Offer
	}
	return nil
}

// Network returns an affiliate network by id, or nil.
func (s *Snapshot) Network(id int64) *Network { return s.networks[id] }

// NetworkByKey returns the network whose own postback key is key, or nil.
func (s *Snapshot) NetworkByKey(key string) *Network { return s.netKeys[key] }

// Networks calls fn for every network.
func (s *Snapshot) Networks(fn func(*Network)) {
	for _, n := range s.networks {
		fn(n)
	}
}

// TrustedProxies are the proxies whose forwarding headers count.
func (s *Snapshot) TrustedProxies() []netip.Prefix { return s.trusted }
