package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/trackd/trackd/internal/preset"
	"github.com/trackd/trackd/internal/track"
)

func (a *API) sources() crud[track.TrafficSource] {
	return crud[track.TrafficSource]{
		kind: "traffic source", list: a.db.TrafficSources, get: a.db.TrafficSource,
		create: a.db.CreateTrafficSource, update: a.db.UpdateTrafficSource, delete: a.db.DeleteTrafficSource,
		prepare: func(r *http.Request, s *track.TrafficSource, id int64) error {
			s.ID = id
			if s.Preset != "" {
				p, ok := preset.SourceByKey(s.Preset)
				if !ok {
					return track.Invalid("preset", "unknown traffic source preset %q; GET %s/presets/traffic-sources lists them", s.Preset, Prefix)
				}
				p.Apply(s)
			}
			s.Normalize()
			return s.Validate()
		},
	}
}

func (a *API) networks() crud[track.AffiliateNetwork] {
	return crud[track.AffiliateNetwork]{
		kind: "affiliate network", list: a.db.AffiliateNetworks, get: a.db.AffiliateNetwork,
		create: a.db.CreateAffiliateNetwork, update: a.db.UpdateAffiliateNetwork, delete: a.db.DeleteAffiliateNetwork,
		prepare: func(r *http.Request, n *track.AffiliateNetwork, id int64) error {
			n.ID = id
			if n.Preset != "" {
				p, ok := preset.NetworkByKey(n.Preset)
				if !ok {
					return track.Invalid("preset", "unknown affiliate network preset %q; GET %s/presets/affiliate-networks lists them", n.Preset, Prefix)
				}
				p.Apply(n)
			}
			n.Normalize()
			return n.Validate()
		},
		present: func(r *http.Request, ns []track.AffiliateNetwork) error {
			s, err := a.db.Settings(r.Context())
			if err != nil {
				return err
			}
			base := publicURL(r, s)
			admin := false
			if k, _ := keyFrom(r.Context()); k.Role == track.RoleAdmin {
				admin = true
			}
			for i := range ns {
				if !admin {
					// Keys and secrets authenticate postbacks: admins only.
					s.PostbackKey, ns[i].PostbackKey, ns[i].SigningSecret = "{postback_key}", "", ""
				}
				ns[i].PostbackURL = postbackURL(base, s.PostbackKey, &ns[i])
			}
			return nil
		},
	}
}

// postbackURL builds the URL a user pastes into the network's postback
// field: trackd's parameters filled with the network's own macros.
func postbackURL(base, globalKey string, n *track.AffiliateNetwork) string {
	key := n.PostbackKey
	if key == "" {
		key = globalKey
	}
	var q []string
	for _, p := range track.PostbackParamNames {
		m := n.PostbackMacros[p]
		if m == "" {
			continue
		}
		name := p
		if rn := n.PostbackParams[p]; rn != "" {
			name = rn
		}
		// The macros stay as they are: the network replaces them.
		q = append(q, url.QueryEscape(name)+"="+m)
	}
	u := base + "/" + url.PathEscape(key) + "/postback"
	if len(q) > 0 {
		u += "?" + strings.Join(q, "&")
	}
	return u
}

// publicURL is where visitors and networks reach this trackd: the
// configured public URL or, failing that, the host the request came to.
func publicURL(r *http.Request, s track.Settings) string {
	if s.PublicURL != "" {
		return s.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (a *API) accountCurrency(ctx context.Context) (string, error) {
	s, err := a.db.Settings(ctx)
	return s.AccountCurrency, err
}

func (a *API) offers() crud[track.Offer] {
	return crud[track.Offer]{
		kind: "offer", list: a.db.Offers, get: a.db.Offer,
		create: a.db.CreateOffer, update: a.db.UpdateOffer, delete: a.db.DeleteOffer,
		prepare: func(r *http.Request, o *track.Offer, id int64) error {
			cur, err := a.accountCurrency(r.Context())
			if err != nil {
				return err
			}
			o.ID = id
			o.Normalize(cur)
			return o.Validate()
		},
	}
}

func (a *API) landings() crud[track.Landing] {
	return crud[track.Landing]{
		kind: "landing", list: a.db.Landings, get: a.db.Landing,
		create: a.db.CreateLanding, update: a.db.UpdateLanding, delete: a.db.DeleteLanding,
		prepare: func(r *http.Request, l *track.Landing, id int64) error {
			l.ID = id
			l.Normalize()
			return l.Validate()
		},
	}
}

func (a *API) campaigns() crud[track.Campaign] {
	return crud[track.Campaign]{
		kind: "campaign", list: a.db.Campaigns, get: a.db.Campaign,
		create: a.db.CreateCampaign, update: a.db.UpdateCampaign, delete: a.db.DeleteCampaign,
		prepare: func(r *http.Request, c *track.Campaign, id int64) error {
			cur, err := a.accountCurrency(r.Context())
			if err != nil {
				return err
			}
			c.ID = id
			c.Normalize(cur)
			return c.Validate()
		},
		present: func(r *http.Request, cs []track.Campaign) error {
			s, err := a.db.Settings(r.Context())
			if err != nil {
				return err
			}
			sources, err := a.db.TrafficSources(r.Context())
			if err != nil {
				return err
			}
			byID := map[int64]*track.TrafficSource{}
			for i := range sources {
				byID[sources[i].ID] = &sources[i]
			}
			base := publicURL(r, s)
			for i := range cs {
				c := &cs[i]
				c.URL = base + "/" + c.Alias
				if c.TrafficSourceID == nil || byID[*c.TrafficSourceID] == nil {
					continue
				}
				var q []string
				for _, p := range byID[*c.TrafficSourceID].Params {
					if p.Macro != "" {
						q = append(q, url.QueryEscape(p.Param)+"="+p.Macro)
					}
				}
				if len(q) > 0 {
					c.URL += "?" + strings.Join(q, "&")
				}
			}
			return nil
		},
	}
}

func (a *API) users() crud[track.User] {
	return crud[track.User]{
		kind: "user", list: a.db.Users, get: a.db.User,
		create: a.db.CreateUser, update: a.db.UpdateUser, delete: a.db.DeleteUser,
		prepare: func(r *http.Request, u *track.User, id int64) error {
			u.ID = id
			u.Normalize()
			return u.Validate(id == 0)
		},
	}
}

func (a *API) apiKeys() crud[track.APIKey] {
	return crud[track.APIKey]{
		kind: "api key", list: a.db.APIKeys, get: a.db.APIKey,
		create: a.db.CreateAPIKey, update: a.db.UpdateAPIKey, delete: a.db.DeleteAPIKey,
		prepare: func(r *http.Request, k *track.APIKey, id int64) error {
			// The key, its prefix and times are the server's to set.
			*k = track.APIKey{ID: id, Name: k.Name, Role: k.Role}
			k.Normalize()
			return k.Validate()
		},
	}
}
