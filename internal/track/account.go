package track

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Roles. An admin may change everything; a viewer may only read.
const (
	RoleAdmin  = "admin"
	RoleViewer = "viewer"
)

// ValidRole reports whether r is a known role.
func ValidRole(r string) bool { return r == RoleAdmin || r == RoleViewer }

// User is a person who signs in to the admin UI.
type User struct {
	ID    int64  `json:"id" api:"readonly"`
	Login string `json:"login"`
	Role  string `json:"role"`
	// Password is only ever read from a request, never written back.
	Password  string    `json:"password,omitempty" api:"writeonly"`
	CreatedAt time.Time `json:"created_at" api:"readonly"`
	UpdatedAt time.Time `json:"updated_at" api:"readonly"`
}

// Normalize fills defaults that a client may leave out.
func (u *User) Normalize() {
	u.Login = strings.TrimSpace(u.Login)
	if u.Role == "" {
		u.Role = RoleViewer
	}
}

// Validate checks u. A new user needs a password; an update may keep the
// old one by leaving it empty.
func (u *User) Validate(isNew bool) error {
	if err := validName("login", u.Login); err != nil {
		return err
	}
	if len(u.Login) > 100 {
		return Invalid("login", "is longer than 100 bytes")
	}
	if !ValidRole(u.Role) {
		return Invalid("role", "unknown role %q (want admin or viewer)", u.Role)
	}
	if isNew || u.Password != "" {
		return CheckNewPassword("password", u.Password)
	}
	return nil
}

// CheckNewPassword checks a password a user is given; field names it in the
// error.
func CheckNewPassword(field, pw string) error {
	if utf8.RuneCountInString(pw) < 10 {
		return Invalid(field, "must be at least 10 characters")
	}
	if len(pw) > 1024 {
		return Invalid(field, "is longer than 1024 bytes")
	}
	return nil
}

// APIKey grants access to the JSON API. Only a hash of the key is stored;
// the key itself is shown once, when it is created.
type APIKey struct {
	ID   int64  `json:"id" api:"readonly"`
	Name string `json:"name"`
	Role string `json:"role"`
	// Prefix is the start of the key, to tell keys apart in a list.
	Prefix     string     `json:"prefix" api:"readonly"`
	Key        string     `json:"key,omitempty" api:"readonly"`
	CreatedAt  time.Time  `json:"created_at" api:"readonly"`
	LastUsedAt *time.Time `json:"last_used_at" api:"readonly"`
}

// Normalize fills defaults that a client may leave out.
func (k *APIKey) Normalize() {
	k.Name = strings.TrimSpace(k.Name)
	if k.Role == "" {
		k.Role = RoleAdmin
	}
}

// Validate checks k.
func (k *APIKey) Validate() error {
	if err := validName("name", k.Name); err != nil {
		return err
	}
	if !ValidRole(k.Role) {
		return Invalid("role", "unknown role %q (want admin or viewer)", k.Role)
	}
	return nil
}

// apiKeyPrefix marks trackd keys so that secret scanners can find leaked ones.
const apiKeyPrefix = "trk_"

// NewAPIKey returns a fresh random key (256 bits) and the hash to store.
func NewAPIKey() (key string, hash []byte) {
	key = apiKeyPrefix + RandomToken(32)
	return key, HashAPIKey(key)
}

// HashAPIKey hashes a key for storage and lookup. The key has 256 random
// bits, so a fast hash is enough: there is nothing to brute-force.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// KeyPrefix is the part of a key shown in lists.
func KeyPrefix(key string) string {
	if len(key) > 12 {
		return key[:12]
	}
	return key
}

// RandomToken returns n random bytes, base64url-encoded without padding.
func RandomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Password hashing: PBKDF2-HMAC-SHA256 from the standard library with the
// iteration count OWASP recommends, in a self-describing string.
const pbkdf2Iterations = 600_000

// HashPassword returns a storable hash of password.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	dk, err := pbkdf2.Key(sha256.New, password, salt, pbkdf2Iterations, 32)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return "pbkdf2-sha256$" + strconv.Itoa(pbkdf2Iterations) + "$" + hex.EncodeToString(salt) + "$" + hex.EncodeToString(dk), nil
}

// CheckPassword reports whether password matches a hash from HashPassword.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	salt, err1 := hex.DecodeString(parts[2])
	want, err2 := hex.DecodeString(parts[3])
	if err1 != nil || err2 != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// CurrencyRate is how many units of the account currency one unit of
// Currency is worth.
type CurrencyRate struct {
	Currency  string    `json:"currency"`
	Rate      Rate      `json:"rate"`
	UpdatedAt time.Time `json:"updated_at" api:"readonly"`
}

// Validate checks r.
func (r *CurrencyRate) Validate() error {
	r.Currency = strings.ToUpper(strings.TrimSpace(r.Currency))
	if err := ValidCurrency(r.Currency); err != nil {
		return Invalid("currency", "%v", err)
	}
	if r.Rate <= 0 {
		return Invalid("rate", "must be greater than 0")
	}
	return nil
}

// Settings are the account-wide options.
type Settings struct {
	// AccountCurrency is the currency reports are in; payouts and costs in
	// other currencies are converted with the stored rates.
	AccountCurrency string `json:"account_currency"`
	// Timezone is the default IANA zone of reports.
	Timezone string `json:"timezone"`
	// PublicURL is where visitors and networks reach trackd, e.g.
	// https://trk.example.com; campaign links and postback URLs use it.
	PublicURL string `json:"public_url"`
	// FallbackURL receives visitors of unknown or paused campaigns instead
	// of a 404 page.
	FallbackURL string `json:"fallback_url"`
	// TrustedProxies are the addresses whose X-Forwarded-For and X-Real-IP
	// headers are believed.
	TrustedProxies []string `json:"trusted_proxies"`
	// ClickDurability is "async" (redirect at once; a crash may lose the
	// last batch) or "sync" (redirect after the click is committed).
	ClickDurability string `json:"click_durability"`
	// PostbackKey authenticates incoming postbacks. It is generated on the
	// first start and read-only through the API.
	PostbackKey string `json:"postback_key" api:"readonly"`
	// OutboundAllow lists the private, loopback or link-local addresses
	// (IPs or CIDR ranges) that outgoing postbacks and webhooks may reach;
	// all others of those are refused (SSRF guard).
	OutboundAllow []string `json:"outbound_allow"`
	// OutboundRetryHours is how long a failing delivery is retried.
	OutboundRetryHours int `json:"outbound_retry_hours"`
	// ClickRetentionDays is how long raw clicks are kept (0: for ever).
	// Hourly statistics, conversions and logs are kept regardless.
	ClickRetentionDays int `json:"click_retention_days"`
}

// DefaultSettings are the settings of a new installation.
func DefaultSettings() Settings {
	return Settings{
		AccountCurrency:    "USD",
		Timezone:           "UTC",
		TrustedProxies:     []string{},
		ClickDurability:    "async",
		OutboundAllow:      []string{},
		OutboundRetryHours: 24,
	}
}

// Validate checks s.
func (s *Settings) Validate() error {
	s.AccountCurrency = strings.ToUpper(strings.TrimSpace(s.AccountCurrency))
	if err := ValidCurrency(s.AccountCurrency); err != nil {
		return Invalid("account_currency", "%v", err)
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "" || s.Timezone == "Local" {
		return Invalid("timezone", "unknown time zone %q (want an IANA name such as Europe/Berlin)", s.Timezone)
	}
	if s.PublicURL != "" {
		u, err := url.Parse(s.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return Invalid("public_url", "must be an http(s) URL without query, such as https://trk.example.com")
		}
		s.PublicURL = strings.TrimRight(s.PublicURL, "/")
	}
	if s.FallbackURL != "" {
		u, err := url.Parse(s.FallbackURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Invalid("fallback_url", "must be an absolute http(s) URL")
		}
	}
	if s.TrustedProxies == nil {
		s.TrustedProxies = []string{}
	}
	for i, p := range s.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			return Invalid("trusted_proxies["+strconv.Itoa(i)+"]", "%q is not an IP address or CIDR range", p)
		}
	}
	if !oneOf(s.ClickDurability, "async", "sync") {
		return Invalid("click_durability", "unknown mode %q (want async or sync)", s.ClickDurability)
	}
	if s.OutboundAllow == nil {
		s.OutboundAllow = []string{}
	}
	for i, p := range s.OutboundAllow {
		if _, err := ParsePrefix(p); err != nil {
			return Invalid("outbound_allow["+strconv.Itoa(i)+"]", "%q is not an IP address or CIDR range", p)
		}
	}
	if s.OutboundRetryHours == 0 {
		s.OutboundRetryHours = 24
	}
	if s.OutboundRetryHours < 1 || s.OutboundRetryHours > 24*30 {
		return Invalid("outbound_retry_hours", "must be between 1 and 720")
	}
	if s.ClickRetentionDays < 0 || s.ClickRetentionDays > 3650 {
		return Invalid("click_retention_days", "must be between 0 (keep for ever) and 3650")
	}
	return nil
}

// ErrBadCredentials is returned for an unknown API key or a wrong password.
var ErrBadCredentials = errors.New("invalid credentials")
