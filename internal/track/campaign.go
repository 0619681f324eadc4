package track

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trackd/trackd/internal/macro"
)

// Campaign is a tracking link, /{alias}, and the streams that decide where
// each visitor goes.
type Campaign struct {
	ID              int64  `json:"id" api:"readonly"`
	Alias           string `json:"alias"`
	Name            string `json:"name"`
	TrafficSourceID *int64 `json:"traffic_source_id"`
	Cost            Cost   `json:"cost"`
	// UniquenessHours is the window in which a returning visitor is not
	// unique again; UniquenessMethod says how a visitor is recognised:
	// "cookie", "ip_ua" or "cookie_ip_ua" (either).
	UniquenessHours  int    `json:"uniqueness_hours"`
	UniquenessMethod string `json:"uniqueness_method"`
	// Rotation picks among regular streams: "position" (first match) or
	// "weight" (random by weight among the matching ones).
	Rotation string `json:"rotation"`
	// VisitorBinding sends a returning visitor to the same stream, landing
	// and offer.
	VisitorBinding bool     `json:"visitor_binding"`
	Paused         bool     `json:"paused"`
	Notes          string   `json:"notes"`
	Streams        []Stream `json:"streams"`
	// Postback is the campaign's own postback to its traffic source: sent
	// besides the source's, or instead of it with replace_source.
	Postback CampaignPostback `json:"postback"`
	// URL is derived, never stored: the campaign link to paste into the
	// traffic source, with the source's macros in place.
	URL       string    `json:"url,omitempty" api:"readonly"`
	CreatedAt time.Time `json:"created_at" api:"readonly"`
	UpdatedAt time.Time `json:"updated_at" api:"readonly"`
}

// CampaignPostback is a campaign's outgoing postback.
type CampaignPostback struct {
	SourcePostback
	ReplaceSource bool `json:"replace_source"`
}

// Cost is a campaign's cost model.
type Cost struct {
	// Model is "none", "cpc", "cpm", "cpa" or "revshare".
	Model string `json:"model"`
	// Amount is the price per click (cpc), per thousand clicks (cpm) or per
	// conversion (cpa); for revshare it is the share in percent.
	Amount   Money  `json:"amount"`
	Currency string `json:"currency"`
	// FromParam takes the cost of each click from the source's cost param.
	FromParam bool `json:"from_param"`
}

// Stream types, in the order the click path tries them.
const (
	StreamForced  = "forced"
	StreamRegular = "regular"
	StreamDefault = "default"
)

// Stream (a "flow") is one route through a campaign: filters that a visitor
// must pass, and where they go.
type Stream struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Weight int    `json:"weight"`
	Paused bool   `json:"paused"`
	// FilterMode combines filters: "and" (all must pass) or "or" (any).
	FilterMode string   `json:"filter_mode"`
	Filters    []Filter `json:"filters"`
	// Schema is "offers" (straight to an offer), "landings" (a landing,
	// then an offer) or "action".
	Schema string `json:"schema"`
	// Redirect is how the visitor reaches the landing or offer: "http"
	// (302), "meta" (meta refresh) or "js".
	Redirect string         `json:"redirect"`
	Offers   []OfferShare   `json:"offers"`
	Landings []LandingShare `json:"landings"`
	Action   *Action        `json:"action,omitempty"`
}

// OfferShare is one offer in a stream's rotation with its weight.
type OfferShare struct {
	OfferID int64 `json:"offer_id"`
	Share   int   `json:"share"`
}

// LandingShare is one landing in a stream's rotation with its weight.
type LandingShare struct {
	LandingID int64 `json:"landing_id"`
	Share     int   `json:"share"`
}

// Action is what an "action" stream does instead of sending to an offer.
type Action struct {
	// Type is "url" (redirect to URL), "text", "html", "not_found" or
	// "campaign" (send to CampaignID).
	Type       string `json:"type"`
	URL        string `json:"url,omitempty"`
	Content    string `json:"content,omitempty"`
	CampaignID int64  `json:"campaign_id,omitempty"`
}

// Filter is one condition of a stream.
type Filter struct {
	// Type names what is tested; see FilterTypes.
	Type string `json:"type"`
	// Mode is "accept" (the visitor must match) or "reject" (must not).
	Mode string `json:"mode"`
	// Values are the countries, cities, OS names, CIDRs... to match.
	Values []string `json:"values,omitempty"`
	// Op is how referrer and param filters compare: "equals", "in",
	// "contains", "regex" or "empty".
	Op string `json:"op,omitempty"`
	// Name is the query parameter a param filter reads.
	Name string `json:"name,omitempty"`
	// Days (0 = Sunday) and Hours (0-23) in Timezone, for schedule filters.
	Days     []int  `json:"days,omitempty"`
	Hours    []int  `json:"hours,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// FilterTypes lists every filter a stream may use.
var FilterTypes = []string{
	"country", "region", "city", "isp", "asn", "connection_type", "device_type", "os", "browser",
	"language", "ip", "bot", "unique", "referrer", "param", "schedule",
}

// ReservedAliases are first path segments that belong to trackd itself.
var ReservedAliases = []string{
	"api", "admin", "postback", "lp", "pixel.gif", "pixel.js", "healthz", "metrics", "static",
	"favicon.ico", "robots.txt", "click", "assets", "login", "logout",
}

var aliasRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_\-]{0,63}$`)

// Normalize fills defaults that a client may leave out and lower-cases
// the alias: campaign links are case-insensitive.
func (c *Campaign) Normalize(accountCurrency string) {
	c.Postback.Normalize()
	c.Alias = strings.ToLower(strings.TrimSpace(c.Alias))
	c.Name = strings.TrimSpace(c.Name)
	if c.Cost.Model == "" {
		c.Cost.Model = "none"
	}
	c.Cost.Currency = strings.ToUpper(c.Cost.Currency)
	if c.Cost.Currency == "" {
		c.Cost.Currency = accountCurrency
	}
	if c.UniquenessHours == 0 {
		c.UniquenessHours = 24
	}
	if c.UniquenessMethod == "" {
		c.UniquenessMethod = "cookie_ip_ua"
	}
	if c.Rotation == "" {
		c.Rotation = "position"
	}
	if c.Streams == nil {
		c.Streams = []Stream{}
	}
	for i := range c.Streams {
		c.Streams[i].normalize()
	}
}

func (s *Stream) normalize() {
	s.Name = strings.TrimSpace(s.Name)
	if s.Type == "" {
		s.Type = StreamRegular
	}
	if s.Weight == 0 {
		s.Weight = 100
	}
	if s.FilterMode == "" {
		s.FilterMode = "and"
	}
	if s.Filters == nil {
		s.Filters = []Filter{}
	}
	if s.Schema == "" {
		switch {
		case s.Action != nil:
			s.Schema = "action"
		case len(s.Landings) > 0:
			s.Schema = "landings"
		default:
			s.Schema = "offers"
		}
	}
	if s.Redirect == "" {
		s.Redirect = "http"
	}
	if s.Offers == nil {
		s.Offers = []OfferShare{}
	}
	if s.Landings == nil {
		s.Landings = []LandingShare{}
	}
	for i := range s.Offers {
		if s.Offers[i].Share == 0 {
			s.Offers[i].Share = 100
		}
	}
	for i := range s.Landings {
		if s.Landings[i].Share == 0 {
			s.Landings[i].Share = 100
		}
	}
	for i := range s.Filters {
		f := &s.Filters[i]
		if f.Mode == "" {
			f.Mode = "accept"
		}
	}
}

// ValidateAlias checks a campaign alias against the syntax and the reserved
// paths.
func ValidateAlias(alias string) error {
	if alias == "" {
		return Invalid("alias", "is required")
	}
	for _, r := range ReservedAliases {
		if alias == r {
			return Conflict("alias", "alias %q is reserved for trackd's own /%s path", alias, r)
		}
	}
	if !aliasRE.MatchString(alias) {
		return Invalid("alias", "%q must be 1-64 characters: letters, digits, '_' or '-', starting with a letter or digit", alias)
	}
	return nil
}

// Validate checks c; call Normalize first. References to sources, offers,
// landings and campaigns are checked by the store.
func (c *Campaign) Validate() error {
	if err := ValidateAlias(c.Alias); err != nil {
		return err
	}
	if err := validName("name", c.Name); err != nil {
		return err
	}
	if err := c.Postback.validate("postback"); err != nil {
		return err
	}
	if !oneOf(c.Cost.Model, "none", "cpc", "cpm", "cpa", "revshare") {
		return Invalid("cost.model", "unknown cost model %q (want none, cpc, cpm, cpa or revshare)", c.Cost.Model)
	}
	if c.Cost.Amount < 0 {
		return Invalid("cost.amount", "must not be negative")
	}
	if c.Cost.Model == "revshare" && c.Cost.Amount > 100*MoneyScale {
		return Invalid("cost.amount", "a revenue share is at most 100 (percent)")
	}
	if err := ValidCurrency(c.Cost.Currency); err != nil {
		return Invalid("cost.currency", "%v", err)
	}
	if c.UniquenessHours < 1 || c.UniquenessHours > 24*365 {
		return Invalid("uniqueness_hours", "must be between 1 and 8760")
	}
	if !oneOf(c.UniquenessMethod, "cookie", "ip_ua", "cookie_ip_ua") {
		return Invalid("uniqueness_method", "unknown method %q (want cookie, ip_ua or cookie_ip_ua)", c.UniquenessMethod)
	}
	if !oneOf(c.Rotation, "position", "weight") {
		return Invalid("rotation", "unknown rotation %q (want position or weight)", c.Rotation)
	}
	if len(c.Streams) > 500 {
		return Invalid("streams", "at most 500 streams")
	}
	seen := map[int64]bool{}
	for i := range c.Streams {
		s := &c.Streams[i]
		if s.ID != 0 {
			if seen[s.ID] {
				return Invalid("streams["+strconv.Itoa(i)+"].id", "stream %d is listed twice", s.ID)
			}
			seen[s.ID] = true
		}
		if err := s.Validate(); err != nil {
			return prefixed("streams["+strconv.Itoa(i)+"]", err)
		}
		if s.Schema == "action" && s.Action.Type == "campaign" && c.ID != 0 && s.Action.CampaignID == c.ID {
			return Invalid("streams["+strconv.Itoa(i)+"].action.campaign_id", "a campaign cannot send visitors to itself")
		}
	}
	return validNotes(c.Notes)
}

// Validate checks one stream.
func (s *Stream) Validate() error {
	if len(s.Name) > 200 || !utf8.ValidString(s.Name) {
		return Invalid("name", "must be valid text of at most 200 bytes")
	}
	if !oneOf(s.Type, StreamForced, StreamRegular, StreamDefault) {
		return Invalid("type", "unknown stream type %q (want forced, regular or default)", s.Type)
	}
	if s.Weight < 1 || s.Weight > 1_000_000 {
		return Invalid("weight", "must be between 1 and 1000000")
	}
	if !oneOf(s.FilterMode, "and", "or") {
		return Invalid("filter_mode", "unknown mode %q (want and or or)", s.FilterMode)
	}
	if s.Type == StreamDefault && len(s.Filters) > 0 {
		return Invalid("filters", "a default stream takes every visitor and has no filters")
	}
	if len(s.Filters) > 100 {
		return Invalid("filters", "at most 100 filters")
	}
	for i := range s.Filters {
		if err := s.Filters[i].Validate(); err != nil {
			return prefixed("filters["+strconv.Itoa(i)+"]", err)
		}
	}
	if !oneOf(s.Redirect, "http", "meta", "js") {
		return Invalid("redirect", "unknown redirect %q (want http, meta or js)", s.Redirect)
	}
	switch s.Schema {
	case "offers":
		if len(s.Offers) == 0 {
			return Invalid("offers", "an offers stream needs at least one offer")
		}
		if len(s.Landings) > 0 {
			return Invalid("landings", "an offers stream has no landings (use schema \"landings\")")
		}
	case "landings":
		if len(s.Landings) == 0 {
			return Invalid("landings", "a landings stream needs at least one landing")
		}
		if len(s.Offers) == 0 {
			return Invalid("offers", "a landings stream needs at least one offer behind its landings")
		}
	case "action":
		if s.Action == nil {
			return Invalid("action", "an action stream needs an action")
		}
		if len(s.Offers) > 0 || len(s.Landings) > 0 {
			return Invalid("schema", "an action stream has no offers or landings")
		}
		if err := s.Action.Validate(); err != nil {
			return prefixed("action", err)
		}
	default:
		return Invalid("schema", "unknown schema %q (want offers, landings or action)", s.Schema)
	}
	if s.Schema != "action" && s.Action != nil {
		return Invalid("action", "only an action stream has an action")
	}
	seen := map[int64]bool{}
	for i, sh := range s.Offers {
		if err := validShare("offers["+strconv.Itoa(i)+"]", "offer_id", sh.OfferID, sh.Share, seen); err != nil {
			return err
		}
	}
	clear(seen)
	for i, sh := range s.Landings {
		if err := validShare("landings["+strconv.Itoa(i)+"]", "landing_id", sh.LandingID, sh.Share, seen); err != nil {
			return err
		}
	}
	return nil
}

func validShare(field, idField string, id int64, share int, seen map[int64]bool) error {
	if id <= 0 {
		return Invalid(field+"."+idField, "is required")
	}
	if seen[id] {
		return Invalid(field+"."+idField, "%d is listed twice", id)
	}
	seen[id] = true
	if share < 1 || share > 1_000_000 {
		return Invalid(field+".share", "must be between 1 and 1000000")
	}
	return nil
}

// Validate checks an action.
func (a *Action) Validate() error {
	switch a.Type {
	case "url":
		return validTemplateURL("url", a.URL, macro.Click)
	case "text", "html":
		if a.Content == "" {
			return Invalid("content", "is required for a %s action", a.Type)
		}
		if len(a.Content) > 64<<10 || !utf8.ValidString(a.Content) {
			return Invalid("content", "must be valid UTF-8 of at most 64 KiB")
		}
	case "not_found":
	case "campaign":
		if a.CampaignID <= 0 {
			return Invalid("campaign_id", "is required for a campaign action")
		}
	default:
		return Invalid("type", "unknown action %q (want url, text, html, not_found or campaign)", a.Type)
	}
	return nil
}

// Validate checks one filter's shape; it does not know if a country or city
// exists, only that the value is well-formed.
func (f *Filter) Validate() error {
	if !oneOf(f.Type, FilterTypes...) {
		return Invalid("type", "unknown filter %q (want one of %s)", f.Type, strings.Join(FilterTypes, ", "))
	}
	if !oneOf(f.Mode, "accept", "reject") {
		return Invalid("mode", "unknown mode %q (want accept or reject)", f.Mode)
	}
	if len(f.Values) > 10_000 {
		return Invalid("values", "at most 10000 values")
	}
	for i, v := range f.Values {
		if len(v) > 1024 || !utf8.ValidString(v) {
			return Invalid("values["+strconv.Itoa(i)+"]", "must be valid UTF-8 of at most 1024 bytes")
		}
	}
	needValues := func() error {
		if len(f.Values) == 0 {
			return Invalid("values", "a %s filter needs at least one value", f.Type)
		}
		return nil
	}
	switch f.Type {
	case "country":
		if err := needValues(); err != nil {
			return err
		}
		for i, v := range f.Values {
			if len(v) != 2 || strings.ToUpper(v) != v || !isLetters(v) {
				return Invalid("values["+strconv.Itoa(i)+"]", "%q is not a two-letter country code such as US", v)
			}
		}
	case "ip":
		if err := needValues(); err != nil {
			return err
		}
		for i, v := range f.Values {
			if _, err := ParsePrefix(v); err != nil {
				return Invalid("values["+strconv.Itoa(i)+"]", "%q is not an IP address or CIDR range", v)
			}
		}
	case "asn":
		if err := needValues(); err != nil {
			return err
		}
		for i, v := range f.Values {
			if _, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(v), "AS"), 10, 32); err != nil {
				return Invalid("values["+strconv.Itoa(i)+"]", "%q is not an AS number", v)
			}
		}
	case "bot", "unique":
		if len(f.Values) > 0 {
			return Invalid("values", "a %s filter takes no values: accept or reject says it all", f.Type)
		}
	case "referrer":
		return f.validOp("referrer")
	case "param":
		if !validParamName(f.Name) {
			return Invalid("name", "parameter name %q must be 1-64 letters, digits, '_', '-', '.'", f.Name)
		}
		return f.validOp("param")
	case "schedule":
		if len(f.Days) == 0 && len(f.Hours) == 0 {
			return Invalid("days", "a schedule needs days, hours or both")
		}
		for i, d := range f.Days {
			if d < 0 || d > 6 {
				return Invalid("days["+strconv.Itoa(i)+"]", "%d is not a weekday (0 = Sunday .. 6)", d)
			}
		}
		for i, h := range f.Hours {
			if h < 0 || h > 23 {
				return Invalid("hours["+strconv.Itoa(i)+"]", "%d is not an hour (0-23)", h)
			}
		}
		if f.Timezone != "" {
			if _, err := time.LoadLocation(f.Timezone); err != nil {
				return Invalid("timezone", "unknown time zone %q", f.Timezone)
			}
		}
	default:
		return needValues()
	}
	return nil
}

func (f *Filter) validOp(kind string) error {
	switch f.Op {
	case "equals", "contains":
		if len(f.Values) != 1 {
			return Invalid("values", "%s %s takes exactly one value", kind, f.Op)
		}
	case "in":
		if len(f.Values) == 0 {
			return Invalid("values", "%s in needs at least one value", kind)
		}
	case "regex":
		if len(f.Values) != 1 {
			return Invalid("values", "%s regex takes exactly one pattern", kind)
		}
		// Go's regexp is RE2: matching time is linear, so a hostile
		// pattern cannot backtrack forever.
		if _, err := regexp.Compile(f.Values[0]); err != nil {
			return Invalid("values[0]", "invalid regular expression: %v", err)
		}
	case "empty":
		if len(f.Values) > 0 {
			return Invalid("values", "%s empty takes no values", kind)
		}
	default:
		return Invalid("op", "unknown operator %q (want equals, in, contains, regex or empty)", f.Op)
	}
	return nil
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < 'a' || s[i] > 'z') && (s[i] < 'A' || s[i] > 'Z') {
			return false
		}
	}
	return true
}
