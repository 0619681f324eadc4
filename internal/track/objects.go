package track

import (
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trackd/trackd/internal/macro"
)

// Status is a canonical conversion status.
type Status string

// The canonical conversion statuses.
const (
	StatusLead     Status = "lead"     // hold, pending
	StatusSale     Status = "sale"     // approved
	StatusRejected Status = "rejected" // declined, trash
	StatusRebill   Status = "rebill"   // a repeated sale on the same click
)

// Statuses lists the canonical statuses in their usual order.
var Statuses = []Status{StatusLead, StatusSale, StatusRejected, StatusRebill}

// Valid reports whether s is a canonical status.
func (s Status) Valid() bool {
	switch s {
	case StatusLead, StatusSale, StatusRejected, StatusRebill:
		return true
	}
	return false
}

// Slots are the click fields that a traffic source's URL parameters fill.
// sub_id_1 .. sub_id_30 are slots too; see ValidSlot.
var Slots = []string{"external_id", "cost", "currency", "creative_id", "ad_campaign_id", "keyword", "source"}

// MaxSubIDs is the number of sub id slots on a click.
const MaxSubIDs = 30

// ValidSlot reports whether s names a click slot.
func ValidSlot(s string) bool {
	for _, x := range Slots {
		if s == x {
			return true
		}
	}
	if n, ok := strings.CutPrefix(s, "sub_id_"); ok {
		i, err := strconv.Atoi(n)
		return err == nil && i >= 1 && i <= MaxSubIDs && strconv.Itoa(i) == n
	}
	return false
}

// TrafficSource is where clicks come from: an ad network that sends visitors
// to a campaign link and wants to hear about conversions.
type TrafficSource struct {
	ID        int64          `json:"id" api:"readonly"`
	Name      string         `json:"name"`
	Preset    string         `json:"preset,omitempty"`
	Params    []SourceParam  `json:"params"`
	Postback  SourcePostback `json:"postback"`
	Notes     string         `json:"notes"`
	CreatedAt time.Time      `json:"created_at" api:"readonly"`
	UpdatedAt time.Time      `json:"updated_at" api:"readonly"`
}

// SourceParam maps one query parameter of the campaign link to a click slot.
// Macro is the source's own placeholder that it fills in, e.g. "{zoneid}";
// it is used to build the campaign link to paste into the source.
type SourceParam struct {
	Slot  string `json:"slot"`
	Param string `json:"param"`
	Macro string `json:"macro,omitempty"`
}

// SourcePostback is how trackd tells the source about a conversion: a
// template of the conversion context (see internal/macro), sent when a
// conversion gets one of Statuses. A campaign may have its own.
type SourcePostback struct {
	URL                string   `json:"url"`
	Method             string   `json:"method"`
	Statuses           []Status `json:"statuses"`
	PayoutSharePercent int      `json:"payout_share_percent"`
	// FirstConversionOnly skips the click's upsells and rebills.
	FirstConversionOnly bool `json:"first_conversion_only"`
	// Body is an optional template sent as the body of a POST (JSON,
	// unless Headers say otherwise); Headers are templates too.
	Body    string            `json:"body,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// Normalize fills defaults that a client may leave out.
func (p *SourcePostback) Normalize() {
	if p.Method == "" {
		p.Method = "GET"
	}
	p.Method = strings.ToUpper(p.Method)
	if p.Statuses == nil {
		p.Statuses = []Status{}
	}
	if p.URL != "" && len(p.Statuses) == 0 {
		p.Statuses = []Status{StatusLead, StatusSale}
	}
	if p.PayoutSharePercent == 0 {
		p.PayoutSharePercent = 100
	}
}

// Fires reports whether the postback is sent for a conversion with status.
func (p *SourcePostback) Fires(st Status) bool { return p.URL != "" && slices.Contains(p.Statuses, st) }

// Validate checks p; call Normalize first.
func (p *SourcePostback) Validate() error { return p.validate("postback") }

func (p *SourcePostback) validate(field string) error {
	if p.URL != "" {
		if err := validTemplateURL(field+".url", p.URL, macro.Conversion); err != nil {
			return err
		}
	}
	if p.Method != "GET" && p.Method != "POST" {
		return Invalid(field+".method", "method %q: want GET or POST", p.Method)
	}
	for i, st := range p.Statuses {
		if !st.Valid() {
			return Invalid(field+".statuses["+strconv.Itoa(i)+"]", "unknown status %q (want lead, sale, rejected or rebill)", st)
		}
	}
	if p.PayoutSharePercent < 0 || p.PayoutSharePercent > 1000 {
		return Invalid(field+".payout_share_percent", "must be between 0 and 1000")
	}
	if p.Body != "" {
		if p.Method != "POST" {
			return Invalid(field+".body", "a body needs method POST")
		}
		if len(p.Body) > 16<<10 {
			return Invalid(field+".body", "is longer than 16 KiB")
		}
		if err := macro.Validate(p.Body, macro.Conversion); err != nil {
			return Invalid(field+".body", "%v", err)
		}
	}
	if len(p.Headers) > 20 {
		return Invalid(field+".headers", "at most 20 headers")
	}
	for k, v := range p.Headers {
		if !validHeaderName(k) {
			return Invalid(field+".headers", "header name %q is not a token", k)
		}
		if len(v) > 1024 || strings.ContainsAny(v, "\r\n") {
			return Invalid(field+".headers."+k, "must be one line of at most 1024 bytes")
		}
		if err := macro.Validate(v, macro.Conversion); err != nil {
			return Invalid(field+".headers."+k, "%v", err)
		}
	}
	return nil
}

func validHeaderName(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// Normalize fills defaults that a client may leave out.
func (s *TrafficSource) Normalize() {
	s.Name = strings.TrimSpace(s.Name)
	if s.Params == nil {
		s.Params = []SourceParam{}
	}
	s.Postback.Normalize()
}

// Validate checks s; call Normalize first.
func (s *TrafficSource) Validate() error {
	if err := validName("name", s.Name); err != nil {
		return err
	}
	seenSlot := map[string]bool{}
	seenParam := map[string]bool{}
	for i, p := range s.Params {
		f := "params[" + strconv.Itoa(i) + "]"
		if !ValidSlot(p.Slot) {
			return Invalid(f+".slot", "unknown slot %q (want one of %s, sub_id_1..sub_id_30)", p.Slot, strings.Join(Slots, ", "))
		}
		if seenSlot[p.Slot] {
			return Invalid(f+".slot", "slot %q is mapped twice", p.Slot)
		}
		seenSlot[p.Slot] = true
		if !validParamName(p.Param) {
			return Invalid(f+".param", "parameter name %q must be 1-64 letters, digits, '_', '-', '.'", p.Param)
		}
		if seenParam[p.Param] {
			return Invalid(f+".param", "parameter %q is used twice", p.Param)
		}
		seenParam[p.Param] = true
		if len(p.Macro) > 100 || !utf8.ValidString(p.Macro) {
			return Invalid(f+".macro", "macro must be valid text of at most 100 bytes")
		}
	}
	if err := s.Postback.validate("postback"); err != nil {
		return err
	}
	return validNotes(s.Notes)
}

// AffiliateNetwork is who runs offers and sends postbacks.
type AffiliateNetwork struct {
	ID     int64  `json:"id" api:"readonly"`
	Name   string `json:"name"`
	Preset string `json:"preset,omitempty"`
	// ClickIDParam is the offer URL parameter that carries trackd's click id
	// to the network (Everflow "sub1", CAKE "s2", TUNE "aff_sub").
	ClickIDParam string `json:"clickid_param"`
	// PostbackParams renames trackd's postback parameters for this network:
	// canonical name (clickid, status, payout, currency, tid, event) → the
	// parameter name the network sends.
	PostbackParams map[string]string `json:"postback_params"`
	// PostbackMacros holds the network's own macros for each canonical
	// parameter, used to build the postback URL to paste into the network.
	PostbackMacros map[string]string `json:"postback_macros"`
	// Statuses maps the network's raw statuses to canonical ones.
	Statuses map[string]Status `json:"statuses"`
	// DuplicatePolicy says what a repeated postback with the same click,
	// transaction id and status does: "ignore" (logged, nothing changes) or
	// "update_payout" (the new payout replaces the old one).
	DuplicatePolicy string `json:"duplicate_policy"`
	// PostbackKey, when set, is accepted for this network in addition to
	// the global key.
	PostbackKey string `json:"postback_key"`
	// IPAllowlist, when not empty, limits postbacks to these addresses or
	// CIDR ranges (IPv4 and IPv6).
	IPAllowlist []string `json:"ip_allowlist"`
	// SigningSecret, when set, makes the network sign its postbacks with
	// HMAC-SHA256 (see docs/postbacks.md); unsigned ones are then refused.
	SigningSecret string `json:"signing_secret"`
	// AllowPixel accepts browser pixel conversions (/pixel.gif) for the
	// network's offers. A pixel carries no secret: anyone who has a click
	// id can fire it, so it is off unless the network cannot send S2S.
	AllowPixel bool   `json:"allow_pixel"`
	Notes      string `json:"notes"`
	// PostbackURL is derived, never stored: the URL to paste into the
	// network, with its macros in place.
	PostbackURL string    `json:"postback_url,omitempty" api:"readonly"`
	CreatedAt   time.Time `json:"created_at" api:"readonly"`
	UpdatedAt   time.Time `json:"updated_at" api:"readonly"`
}

// PostbackParamNames are the canonical incoming postback parameters that a
// network may rename.
var PostbackParamNames = []string{"clickid", "status", "payout", "currency", "tid", "event"}

// Normalize fills defaults that a client may leave out.
func (n *AffiliateNetwork) Normalize() {
	n.Name = strings.TrimSpace(n.Name)
	if n.PostbackParams == nil {
		n.PostbackParams = map[string]string{}
	}
	if n.PostbackMacros == nil {
		n.PostbackMacros = map[string]string{}
	}
	if n.Statuses == nil {
		n.Statuses = map[string]Status{}
	}
	if n.DuplicatePolicy == "" {
		n.DuplicatePolicy = "ignore"
	}
	if n.IPAllowlist == nil {
		n.IPAllowlist = []string{}
	}
}

// Validate checks n; call Normalize first.
func (n *AffiliateNetwork) Validate() error {
	if err := validName("name", n.Name); err != nil {
		return err
	}
	if n.ClickIDParam != "" && !validParamName(n.ClickIDParam) {
		return Invalid("clickid_param", "parameter name %q must be 1-64 letters, digits, '_', '-', '.'", n.ClickIDParam)
	}
	for k, v := range n.PostbackParams {
		if !oneOf(k, PostbackParamNames...) {
			return Invalid("postback_params."+k, "unknown postback parameter %q (want one of %s)", k, strings.Join(PostbackParamNames, ", "))
		}
		if !validParamName(v) {
			return Invalid("postback_params."+k, "parameter name %q must be 1-64 letters, digits, '_', '-', '.'", v)
		}
	}
	for k, v := range n.PostbackMacros {
		if !oneOf(k, PostbackParamNames...) {
			return Invalid("postback_macros."+k, "unknown postback parameter %q (want one of %s)", k, strings.Join(PostbackParamNames, ", "))
		}
		if v == "" || len(v) > 100 || !utf8.ValidString(v) {
			return Invalid("postback_macros."+k, "macro must be 1-100 bytes of text")
		}
	}
	for raw, st := range n.Statuses {
		if raw == "" || len(raw) > 64 || !utf8.ValidString(raw) {
			return Invalid("statuses", "raw status %q must be 1-64 bytes of text", raw)
		}
		if !st.Valid() {
			return Invalid("statuses."+raw, "unknown status %q (want lead, sale, rejected or rebill)", st)
		}
	}
	if !oneOf(n.DuplicatePolicy, "ignore", "update_payout") {
		return Invalid("duplicate_policy", "unknown policy %q (want ignore or update_payout)", n.DuplicatePolicy)
	}
	if n.PostbackKey != "" && !validKey(n.PostbackKey) {
		return Invalid("postback_key", "must be 16-64 letters, digits, '_' or '-'")
	}
	if n.SigningSecret != "" && !validKey(n.SigningSecret) {
		return Invalid("signing_secret", "must be 16-64 letters, digits, '_' or '-'")
	}
	for i, c := range n.IPAllowlist {
		if _, err := ParsePrefix(c); err != nil {
			return Invalid("ip_allowlist["+strconv.Itoa(i)+"]", "%q is not an IP address or CIDR range", c)
		}
	}
	return validNotes(n.Notes)
}

// ParsePrefix parses an IP address or a CIDR range; a bare address is a
// single-address range.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Payout is what an offer pays per conversion.
type Payout struct {
	// Type is "fixed" (Amount in Currency) or "postback" (the amount the
	// network sends).
	Type     string `json:"type"`
	Amount   Money  `json:"amount"`
	Currency string `json:"currency"`
}

// Offer is the page the visitor is finally sent to, run by an affiliate
// network that pays for conversions.
type Offer struct {
	ID                 int64     `json:"id" api:"readonly"`
	Name               string    `json:"name"`
	URL                string    `json:"url"`
	AffiliateNetworkID *int64    `json:"affiliate_network_id"`
	Payout             Payout    `json:"payout"`
	UpsellsAllowed     bool      `json:"upsells_allowed"`
	DailyCap           int       `json:"daily_cap"`
	AlternativeOfferID *int64    `json:"alternative_offer_id"`
	Paused             bool      `json:"paused"`
	Notes              string    `json:"notes"`
	CreatedAt          time.Time `json:"created_at" api:"readonly"`
	UpdatedAt          time.Time `json:"updated_at" api:"readonly"`
}

// Normalize fills defaults that a client may leave out.
func (o *Offer) Normalize(accountCurrency string) {
	o.Name = strings.TrimSpace(o.Name)
	o.URL = strings.TrimSpace(o.URL)
	if o.Payout.Type == "" {
		o.Payout.Type = "postback"
	}
	o.Payout.Currency = strings.ToUpper(o.Payout.Currency)
	if o.Payout.Currency == "" {
		o.Payout.Currency = accountCurrency
	}
}

// Validate checks o; call Normalize first. References to other objects are
// checked by the store.
func (o *Offer) Validate() error {
	if err := validName("name", o.Name); err != nil {
		return err
	}
	if err := validTemplateURL("url", o.URL, macro.Click); err != nil {
		return err
	}
	if !oneOf(o.Payout.Type, "fixed", "postback") {
		return Invalid("payout.type", "unknown payout type %q (want fixed or postback)", o.Payout.Type)
	}
	if o.Payout.Amount < 0 {
		return Invalid("payout.amount", "must not be negative")
	}
	if err := ValidCurrency(o.Payout.Currency); err != nil {
		return Invalid("payout.currency", "%v", err)
	}
	if o.DailyCap < 0 {
		return Invalid("daily_cap", "must not be negative")
	}
	if o.AlternativeOfferID != nil && o.ID != 0 && *o.AlternativeOfferID == o.ID {
		return Invalid("alternative_offer_id", "an offer cannot be its own alternative")
	}
	return validNotes(o.Notes)
}

// Landing is a pre-sell page that links on to the tracker's /lp/click.
type Landing struct {
	ID        int64     `json:"id" api:"readonly"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Paused    bool      `json:"paused"`
	Notes     string    `json:"notes"`
	CreatedAt time.Time `json:"created_at" api:"readonly"`
	UpdatedAt time.Time `json:"updated_at" api:"readonly"`
}

// Normalize fills defaults that a client may leave out.
func (l *Landing) Normalize() {
	l.Name = strings.TrimSpace(l.Name)
	l.URL = strings.TrimSpace(l.URL)
}

// Validate checks l; call Normalize first.
func (l *Landing) Validate() error {
	if err := validName("name", l.Name); err != nil {
		return err
	}
	if err := validTemplateURL("url", l.URL, macro.Click); err != nil {
		return err
	}
	return validNotes(l.Notes)
}

// ValidCurrency checks that c looks like an ISO 4217 code: three capital letters.
func ValidCurrency(c string) error {
	if len(c) != 3 {
		return errCurrency(c)
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return errCurrency(c)
		}
	}
	return nil
}

func errCurrency(c string) error {
	return &InvalidError{Message: strconv.Quote(c) + " is not a currency code (want three letters such as USD)"}
}

func validName(field, s string) error {
	if s == "" {
		return Invalid(field, "is required")
	}
	if len(s) > 200 {
		return Invalid(field, "is longer than 200 bytes")
	}
	if !utf8.ValidString(s) {
		return Invalid(field, "is not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return Invalid(field, "contains a control character")
		}
	}
	return nil
}

func validNotes(s string) error {
	if len(s) > 10_000 {
		return Invalid("notes", "is longer than 10000 bytes")
	}
	if !utf8.ValidString(s) {
		return Invalid("notes", "is not valid UTF-8")
	}
	return nil
}

var paramNameRE = regexp.MustCompile(`^[A-Za-z0-9_.\-\[\]]{1,64}$`)

func validParamName(s string) bool { return paramNameRE.MatchString(s) }

var keyRE = regexp.MustCompile(`^[A-Za-z0-9_\-]{16,64}$`)

func validKey(s string) bool { return keyRE.MatchString(s) }

// validTemplateURL checks that tmpl is an absolute http(s) URL template whose
// macros are all known in ctx.
func validTemplateURL(field, tmpl string, ctx macro.Context) error {
	if tmpl == "" {
		return Invalid(field, "is required")
	}
	if len(tmpl) > 4096 {
		return Invalid(field, "is longer than 4096 bytes")
	}
	if err := macro.Validate(tmpl, ctx); err != nil {
		return Invalid(field, "%v", err)
	}
	// Replace each macro by a harmless token so that the rest can be
	// checked as a URL.
	u, err := url.Parse(macroPlaceholders(tmpl))
	if err != nil {
		return Invalid(field, "is not a valid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Invalid(field, "must start with http:// or https://")
	}
	if u.Host == "" {
		return Invalid(field, "has no host")
	}
	return nil
}

func macroPlaceholders(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString("x")
		s = s[i+j+1:]
	}
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}
