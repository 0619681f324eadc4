// Package enrich turns the raw facts of a click (client IP, User-Agent,
// request headers) into geo, device and bot information, in-process, without
// network calls, fast enough for the redirect path.
//
//   - Geo: the country always comes from the IP→country table compiled into the
//     binary (github.com/phuslu/iploc, no download). Optional MaxMind-format
//     .mmdb files (GeoLite2/GeoIP2 City, Country, ASN, ISP, Connection-Type,
//     Enterprise, or DB-IP's equivalents) add region, city, ASN, ISP and
//     connection type; an .mmdb country wins over the embedded one.
//   - Device: github.com/medama-io/go-useragent (a trie, ~0.5 µs, 0 allocs)
//     for the browser, plus rules in this package for OS versions, consoles,
//     TVs, Android tablets, in-app browsers (Facebook, Instagram, TikTok …)
//     and bots.
//   - Bot: empty UA, headless/automation signs in the UA, the crawler list of
//     github.com/x-way/crawlerdetect, configured IP ranges, and two header
//     signs (see [Enricher.Bot]).
//
// Everything derived from the User-Agent alone (Device and the UA part of the
// bot verdict) is computed once per distinct UA and kept in a bounded cache;
// a hit does not allocate. A miss costs about 0.1–0.2 ms, almost all of it
// crawlerdetect's regular expressions, so a flood of never-seen UAs costs
// CPU (~5,000 new UAs per second per core) but never memory beyond the cache.
//
// Costs: the embedded country table adds ~4.5 MB to the binary and ~11 MiB
// of heap once the IPv6 part is inflated (done in New); the UA parser ~5 MiB
// of heap; crawlerdetect compiles its patterns at program start (~20 ms,
// <1 MiB). The embedded table is IP2Location LITE data (CC BY-SA 4.0): a
// product that ships it must show "This site or product includes
// IP2Location LITE data available from https://lite.ip2location.com".
package enrich

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"

	useragent "github.com/medama-io/go-useragent"
	"github.com/phuslu/iploc"
)

// Geo is where an IP address is.
type Geo struct {
	// Country is the ISO 3166-1 alpha-2 code, upper case, "" if unknown.
	Country string
	// Region is the English name of the first (largest) subdivision, e.g.
	// "California" or "England", from an .mmdb City database.
	Region string
	// RegionCode is that subdivision's ISO 3166-2 code without the country
	// prefix, e.g. "CA" or "ENG" (DB-IP's Lite files have none).
	RegionCode string
	// City is the English city name, from an .mmdb City database.
	City string
	// ASN is the autonomous system number, 0 if unknown.
	ASN uint32
	// ISP is the ISP name (ISP/Enterprise databases) or, failing that, the
	// autonomous system organisation (ASN databases).
	ISP string
	// ConnectionType is the lower-cased connection type of a Connection-Type
	// or Enterprise database: "cable/dsl", "cellular", "corporate",
	// "satellite", "dialup".
	ConnectionType string
}

// Device types.
const (
	TypeDesktop = "desktop"
	TypeMobile  = "mobile"
	TypeTablet  = "tablet"
	TypeTV      = "tv"
	TypeConsole = "console"
	TypeBot     = "bot"
	TypeOther   = "other"
)

// Device is what the user agent says.
type Device struct {
	// Type is one of the Type* constants. It is TypeBot exactly when the
	// User-Agent alone makes [Enricher.Bot] say bot (empty, headless,
	// automation tool, crawler).
	Type string
	// OS is e.g. "iOS", "Android", "Windows", "macOS", "Linux", "ChromeOS",
	// "Tizen", "webOS", "PlayStation 5", "Xbox", "Nintendo Switch".
	// OSVersion is what the UA says: dotted ("17.5", "10.15.7"), or the
	// marketing name for Windows ("10" – also Windows 11, which UAs cannot
	// tell apart – "8.1", "7", "XP" …).
	OS, OSVersion string
	// Browser is e.g. "Chrome", "Safari", "Edge", "Firefox",
	// "Samsung Internet", an in-app browser ("Facebook", "Instagram",
	// "TikTok" …), or for bots the crawler or tool name ("Googlebot",
	// "curl"). BrowserVersion is the full version string.
	Browser, BrowserVersion string
}

// Verdict is the bot decision with its reason ("" when human).
type Verdict struct {
	Bot    bool
	Reason string
}

// Config configures an Enricher. The zero value is valid: iploc country only.
type Config struct {
	// MMDB lists .mmdb files. Each file's metadata database_type decides what
	// it provides: City/Country (country, region, city), ASN (ASN, AS
	// organisation), ISP (ASN, ISP), Connection-Type, Enterprise (all of
	// them); GeoIP2-*, GeoLite2-* and DBIP-* names are recognised. When two
	// files provide the same field, the earlier one in the list wins.
	MMDB []string
	// BotRanges are extra IP ranges whose clicks are bots (data-centre
	// ranges the user lists). IPv4-mapped IPv6 prefixes are unmapped.
	BotRanges []netip.Prefix
	// UACacheSize is the number of distinct User-Agents whose Device and
	// UA-level bot verdict are cached (default 10000). Memory is about
	// 1 KiB per entry at most (keys are capped at 512 bytes).
	UACacheSize int
	// GeoCacheSize is the number of decoded .mmdb records cached per file
	// (default 16384), keyed by record, not by IP.
	GeoCacheSize int
	// VerifyMMDB runs a full structural check of each .mmdb file in New
	// (seconds for a large City database). Without it New still checks the
	// metadata and decodes one record.
	VerifyMMDB bool
}

// Enricher answers Geo, Device and Bot questions. It is safe for concurrent
// use. Close must not be called while other calls are in progress.
type Enricher struct {
	dbs    []*mmdbFile
	ranges prefixSet
	ua     *cache[string, uaInfo]
	parser *useragent.Parser
	closed atomic.Bool
}

const (
	defaultUACacheSize  = 10000
	defaultGeoCacheSize = 16384
)

// New builds an Enricher: it opens and validates the .mmdb files (memory
// mapped), builds the User-Agent parser (~40 ms, ~5 MiB) and decompresses
// the embedded IPv6 country table (~250 ms, ~11 MiB) so that no click pays
// for it. A bad file gives an error naming its path.
func New(cfg Config) (*Enricher, error) {
	e := &Enricher{parser: useragent.NewParser()}

	size := cfg.UACacheSize
	if size <= 0 {
		size = defaultUACacheSize
	}
	e.ua = newCache[string, uaInfo](size, stringHasher())

	ranges, err := newPrefixSet(cfg.BotRanges)
	if err != nil {
		return nil, err
	}
	e.ranges = ranges

	geoSize := cfg.GeoCacheSize
	if geoSize <= 0 {
		geoSize = defaultGeoCacheSize
	}
	for _, path := range cfg.MMDB {
		db, err := openMMDB(path, geoSize, cfg.VerifyMMDB)
		if err != nil {
			for _, d := range e.dbs {
				_ = d.r.Close()
			}
			return nil, err
		}
		e.dbs = append(e.dbs, db)
	}

	// iploc inflates its IPv6 table on the first IPv6 lookup; do it now.
	iploc.IPCountry(netip.MustParseAddr("2001:4860:4860::8888"))
	return e, nil
}

// Close releases the .mmdb files. It is idempotent. Geo must not be called
// after (or concurrently with) Close.
func (e *Enricher) Close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	var errs []error
	for _, d := range e.dbs {
		if err := d.r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("enrich: close %s: %w", d.path, err))
		}
	}
	return errors.Join(errs...)
}

// prefixSet answers "is this address in one of these prefixes, and which"
// with one map lookup per distinct prefix length, no allocation.
type prefixSet struct {
	v4bits, v6bits []int
	reason         map[netip.Prefix]string
}

func newPrefixSet(prefixes []netip.Prefix) (prefixSet, error) {
	s := prefixSet{reason: make(map[netip.Prefix]string, len(prefixes))}
	seen4, seen6 := map[int]bool{}, map[int]bool{}
	for _, p := range prefixes {
		if !p.IsValid() {
			return prefixSet{}, fmt.Errorf("enrich: invalid bot range %q", p.String())
		}
		addr := p.Addr().WithZone("")
		bits := p.Bits()
		if addr.Is4In6() && bits >= 96 {
			addr, bits = addr.Unmap(), bits-96
		}
		p = netip.PrefixFrom(addr, bits).Masked()
		if _, dup := s.reason[p]; !dup {
			s.reason[p] = "ip range " + p.String()
		}
		if addr.Is4() {
			if !seen4[bits] {
				seen4[bits] = true
				s.v4bits = append(s.v4bits, bits)
			}
		} else if !seen6[bits] {
			seen6[bits] = true
			s.v6bits = append(s.v6bits, bits)
		}
	}
	slices.Sort(s.v4bits)
	slices.Sort(s.v6bits)
	return s, nil
}

// lookup reports the reason for the broadest configured prefix containing ip
// (ip must already be unmapped).
func (s *prefixSet) lookup(ip netip.Addr) (string, bool) {
	if len(s.reason) == 0 || !ip.IsValid() {
		return "", false
	}
	bits := s.v6bits
	if ip.Is4() {
		bits = s.v4bits
	}
	for _, b := range bits {
		p, err := ip.Prefix(b)
		if err != nil {
			continue
		}
		if r, ok := s.reason[p]; ok {
			return r, true
		}
	}
	return "", false
}

// hasPrefixFold reports whether s starts with prefix, ASCII case-insensitively.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
