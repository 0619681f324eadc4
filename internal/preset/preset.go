// Package preset holds ready-made settings for well-known traffic sources and
// affiliate networks.
//
// A traffic source preset lists the query parameters of the campaign link
// together with the source's own macros (so that trackd can build the link to
// paste into the source) and the source's S2S conversion postback, written
// with trackd's conversion macros. An affiliate network preset names the
// offer-URL parameter that carries trackd's click id to the network, the
// network's own macros for trackd's postback parameters (so that trackd can
// build the postback URL to paste into the network) and the network's raw
// conversion statuses.
//
// The tables are built by functions on every call, so every value returned
// by this package is a fresh deep copy that the caller may modify. There is
// no package-level mutable state.
//
// The macros come from each platform's documentation where it could be
// found (the Docs field names the page). Details that could not be confirmed
// in the platform's own documentation are marked "unverified:" in the source
// next to the value; they follow the form most widely used by trackers and
// public integrations.
package preset

import (
	"maps"
	"slices"
	"strings"

	"github.com/trackd/trackd/internal/track"
)

// Source is a ready-made traffic source.
type Source struct {
	// Key identifies the preset: lowercase, stable, used as
	// TrafficSource.Preset.
	Key  string `json:"key"`
	Name string `json:"name"`
	// Docs links to the platform's documentation of its macros or postback.
	Docs  string `json:"docs"`
	Notes string `json:"notes,omitempty"`
	// Params maps the campaign link's parameters to click slots; Macro is
	// the source's own placeholder. An empty Macro means the source appends
	// the parameter by itself (Facebook's fbclid, TikTok's ttclid).
	Params []track.SourceParam `json:"params"`
	// Postback is the source's conversion postback, written with trackd's
	// conversion macros. Account-specific parts are plain uppercase
	// placeholders such as YOUR_KEY that the user replaces. An empty URL
	// means the source has no simple S2S postback; Notes says what to use.
	Postback track.SourcePostback `json:"postback"`
}

// Network is a ready-made affiliate network.
type Network struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Docs  string `json:"docs"`
	Notes string `json:"notes,omitempty"`
	// ClickIDParam is the offer-URL parameter that carries trackd's click
	// id to the network.
	ClickIDParam string `json:"clickid_param"`
	// PostbackParams renames trackd's postback parameters; usually empty.
	PostbackParams map[string]string `json:"postback_params"`
	// PostbackMacros holds the network's own macro for each canonical
	// postback parameter (clickid, status, payout, currency, tid, event)
	// that the network can fill in.
	PostbackMacros map[string]string `json:"postback_macros"`
	// Statuses maps the network's raw conversion statuses to canonical ones.
	Statuses map[string]track.Status `json:"statuses"`
}

// Sources returns every traffic source preset, sorted by name. The result
// is a fresh copy that the caller may modify.
func Sources() []Source {
	s := sourceTable()
	slices.SortFunc(s, func(a, b Source) int {
		return compareNames(a.Name, a.Key, b.Name, b.Key)
	})
	return s
}

// Networks returns every affiliate network preset, sorted by name. The
// result is a fresh copy that the caller may modify.
func Networks() []Network {
	n := networkTable()
	slices.SortFunc(n, func(a, b Network) int {
		return compareNames(a.Name, a.Key, b.Name, b.Key)
	})
	return n
}

// SourceByKey returns a copy of the traffic source preset with the given key.
func SourceByKey(key string) (Source, bool) {
	for _, s := range sourceTable() {
		if s.Key == key {
			return s, true
		}
	}
	return Source{}, false
}

// NetworkByKey returns a copy of the affiliate network preset with the given
// key.
func NetworkByKey(key string) (Network, bool) {
	for _, n := range networkTable() {
		if n.Key == key {
			return n, true
		}
	}
	return Network{}, false
}

// Apply fills the fields of s that the client left empty from the preset and
// sets s.Preset to p.Key. A field is empty when it is the zero value: an
// empty string, a zero number, a nil slice. A client that sends an empty
// but present list (params: []) keeps it empty. The postback URL and its
// first_conversion_only flag are taken together: only when the client gave
// no postback URL. Nothing that s ends up holding is shared with p.
func (p Source) Apply(s *track.TrafficSource) {
	if strings.TrimSpace(s.Name) == "" {
		s.Name = p.Name
	}
	if s.Params == nil {
		s.Params = slices.Clone(p.Params)
	}
	if s.Postback.URL == "" && p.Postback.URL != "" {
		s.Postback.URL = p.Postback.URL
		s.Postback.FirstConversionOnly = p.Postback.FirstConversionOnly
	}
	if s.Postback.Method == "" {
		s.Postback.Method = p.Postback.Method
	}
	if s.Postback.Statuses == nil {
		s.Postback.Statuses = slices.Clone(p.Postback.Statuses)
	}
	if s.Postback.PayoutSharePercent == 0 {
		s.Postback.PayoutSharePercent = p.Postback.PayoutSharePercent
	}
	if s.Notes == "" {
		s.Notes = p.Notes
	}
	s.Preset = p.Key
}

// Apply fills the fields of n that the client left empty (an empty string, a
// nil map) from the preset and sets n.Preset to p.Key. A client that sends
// an empty but present map keeps it empty. Nothing that n ends up holding is
// shared with p.
func (p Network) Apply(n *track.AffiliateNetwork) {
	if strings.TrimSpace(n.Name) == "" {
		n.Name = p.Name
	}
	if n.ClickIDParam == "" {
		n.ClickIDParam = p.ClickIDParam
	}
	if n.PostbackParams == nil {
		n.PostbackParams = cloneMap(p.PostbackParams)
	}
	if n.PostbackMacros == nil {
		n.PostbackMacros = cloneMap(p.PostbackMacros)
	}
	if n.Statuses == nil {
		n.Statuses = cloneMap(p.Statuses)
	}
	if n.Notes == "" {
		n.Notes = p.Notes
	}
	n.Preset = p.Key
}

// cloneMap returns a copy of m that is never nil.
func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	maps.Copy(c, m)
	return c
}

func compareNames(an, ak, bn, bk string) int {
	if c := strings.Compare(strings.ToLower(an), strings.ToLower(bn)); c != 0 {
		return c
	}
	return strings.Compare(ak, bk)
}
