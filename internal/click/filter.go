package click

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// visit is what filters look at: the click being built and the request.
type visit struct {
	c     *track.Click
	ip    netip.Addr
	query string // raw query string
	now   time.Time
}

// filter is a compiled stream filter.
type filter struct {
	accept bool
	match  func(v *visit) bool
}

// pass reports whether v passes the stream's filters.
func (s *stream) pass(v *visit) bool {
	if len(s.filters) == 0 {
		return true
	}
	and := s.FilterMode != "or"
	for i := range s.filters {
		f := &s.filters[i]
		ok := f.match(v) == f.accept
		if and && !ok {
			return false
		}
		if !and && ok {
			return true
		}
	}
	return and
}

// compileFilter turns a validated filter into a match function.
func compileFilter(f track.Filter) (filter, error) {
	cf := filter{accept: f.Mode != "reject"}
	field := func(get func(c *track.Click) string) {
		set := newFoldSet(f.Values)
		cf.match = func(v *visit) bool { return set.has(get(v.c)) }
	}
	switch f.Type {
	case "country":
		field(func(c *track.Click) string { return c.Country })
	case "region":
		field(func(c *track.Click) string { return c.Region })
	case "city":
		field(func(c *track.Click) string { return c.City })
	case "isp":
		field(func(c *track.Click) string { return c.ISP })
	case "connection_type":
		field(func(c *track.Click) string { return c.ConnectionType })
	case "device_type":
		field(func(c *track.Click) string { return c.DeviceType })
	case "os":
		field(func(c *track.Click) string { return c.OS })
	case "browser":
		field(func(c *track.Click) string { return c.Browser })
	case "language":
		field(func(c *track.Click) string { return c.Language })
	case "asn":
		var asns []uint32
		for _, s := range f.Values {
			n, err := strconv.ParseUint(strings.TrimPrefix(strings.ToUpper(s), "AS"), 10, 32)
			if err != nil {
				return cf, fmt.Errorf("asn %q: %w", s, err)
			}
			asns = append(asns, uint32(n))
		}
		cf.match = func(v *visit) bool { return slices.Contains(asns, v.c.ASN) }
	case "ip":
		var prefixes []netip.Prefix
		for _, s := range f.Values {
			p, err := track.ParsePrefix(s)
			if err != nil {
				return cf, err
			}
			prefixes = append(prefixes, p)
		}
		cf.match = func(v *visit) bool {
			for _, p := range prefixes {
				if p.Contains(v.ip) {
					return true
				}
			}
			return false
		}
	case "bot":
		cf.match = func(v *visit) bool { return v.c.IsBot }
	case "unique":
		cf.match = func(v *visit) bool { return v.c.UniqueCampaign }
	case "referrer":
		m, err := compareOp(f.Op, f.Values)
		if err != nil {
			return cf, err
		}
		cf.match = func(v *visit) bool { return m(v.c.Referrer) }
	case "param":
		m, err := compareOp(f.Op, f.Values)
		if err != nil {
			return cf, err
		}
		name := f.Name
		cf.match = func(v *visit) bool {
			val, _ := queryValue(v.query, name)
			return m(val)
		}
	case "schedule":
		loc := time.UTC
		if f.Timezone != "" {
			l, err := time.LoadLocation(f.Timezone)
			if err != nil {
				return cf, err
			}
			loc = l
		}
		var days [7]bool
		var hours [24]bool
		for _, d := range f.Days {
			days[d] = true
		}
		for _, h := range f.Hours {
			hours[h] = true
		}
		anyDay, anyHour := len(f.Days) == 0, len(f.Hours) == 0
		cf.match = func(v *visit) bool {
			t := v.now.In(loc)
			return (anyDay || days[t.Weekday()]) && (anyHour || hours[t.Hour()])
		}
	default:
		return cf, fmt.Errorf("unknown filter %q", f.Type)
	}
	return cf, nil
}

// compareOp returns a matcher of a string for referrer and param filters.
func compareOp(op string, values []string) (func(string) bool, error) {
	switch op {
	case "empty":
		return func(s string) bool { return s == "" }, nil
	case "equals":
		want := values[0]
		return func(s string) bool { return s == want }, nil
	case "in":
		set := newFoldSet(values)
		return set.has, nil
	case "contains":
		sub := strings.ToLower(values[0])
		return func(s string) bool { return containsFold(s, sub) }, nil
	case "regex":
		// RE2: linear time, whatever the pattern or the input.
		re, err := regexp.Compile(values[0])
		if err != nil {
			return nil, err
		}
		return re.MatchString, nil
	}
	return nil, fmt.Errorf("unknown operator %q", op)
}

// foldSet is a case-insensitive set of strings. Small sets are scanned
// with EqualFold (no allocation); large ones hashed by lower-case key.
type foldSet struct {
	small []string
	large map[string]struct{}
}

func newFoldSet(values []string) foldSet {
	if len(values) <= 16 {
		return foldSet{small: values}
	}
	m := make(map[string]struct{}, len(values))
	for _, v := range values {
		m[strings.ToLower(v)] = struct{}{}
	}
	return foldSet{large: m}
}

func (s foldSet) has(v string) bool {
	if s.large != nil {
		_, ok := s.large[strings.ToLower(v)]
		return ok
	}
	for _, x := range s.small {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains lowerSub, ignoring ASCII case.
func containsFold(s, lowerSub string) bool {
	n := len(lowerSub)
	if n == 0 {
		return true
	}
outer:
	for i := 0; i+n <= len(s); i++ {
		for j := 0; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lowerSub[j] {
				continue outer
			}
		}
		return true
	}
	return false
}

// queryValue returns the first value of name in a raw query string. It
// decodes only when the value is escaped, so the common case does not
// allocate. Malformed escapes give the raw value.
func queryValue(raw, name string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			if strings.ContainsAny(k, "%+") {
				if dk, err := url.QueryUnescape(k); err == nil && dk == name {
					return unescape(v), true
				}
			}
			continue
		}
		return unescape(v), true
	}
	return "", false
}

func unescape(v string) string {
	if !strings.ContainsAny(v, "%+") {
		return v
	}
	if d, err := url.QueryUnescape(v); err == nil {
		return d
	}
	return v
}
