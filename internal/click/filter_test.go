package click

import (
	"net/netip"
	"testing"
	"time"

	"github.com/trackd/trackd/internal/track"
)

// TestEveryFilter runs each filter type against a visit that matches and
// one that does not, in accept and reject mode.
func TestEveryFilter(t *testing.T) {
	base := track.Click{Country: "US", Region: "California", City: "San Jose", ISP: "Comcast", ASN: 7922,
		ConnectionType: "cable/dsl", DeviceType: "mobile", OS: "iOS", Browser: "Safari", Language: "en",
		Referrer: "https://www.Facebook.com/feed", IsBot: false, UniqueCampaign: true}
	// Wednesday 2026-11-25 14:30 UTC = 09:30 in New York.
	now := time.Date(2026, 11, 25, 14, 30, 0, 0, time.UTC)
	ip := netip.MustParseAddr("203.0.113.9")
	query := "zone=123&src=push%20ads&empty=&utf=%C3%BC"
	other := base
	other.Country, other.Region, other.City, other.ISP, other.ASN = "DE", "Bavaria", "Munich", "Telekom", 3320
	other.ConnectionType, other.DeviceType, other.OS, other.Browser, other.Language = "cellular", "desktop", "Windows", "Chrome", "de"
	other.Referrer, other.IsBot, other.UniqueCampaign = "", true, false
	for _, tc := range []struct {
		name string
		f    track.Filter
		// want is whether the base visit matches; the other visit (and
		// otherIP/otherQuery/otherNow) must give the opposite.
		want       bool
		otherIP    string
		otherQuery string
		otherNow   time.Time
	}{
		{name: "country", f: track.Filter{Type: "country", Values: []string{"US", "CA"}}, want: true},
		{name: "region", f: track.Filter{Type: "region", Values: []string{"california"}}, want: true},
		{name: "city", f: track.Filter{Type: "city", Values: []string{"San Jose"}}, want: true},
		{name: "isp", f: track.Filter{Type: "isp", Values: []string{"comcast"}}, want: true},
		{name: "asn", f: track.Filter{Type: "asn", Values: []string{"AS7922"}}, want: true},
		{name: "connection type", f: track.Filter{Type: "connection_type", Values: []string{"cable/dsl"}}, want: true},
		{name: "device type", f: track.Filter{Type: "device_type", Values: []string{"mobile", "tablet"}}, want: true},
		{name: "os", f: track.Filter{Type: "os", Values: []string{"ios", "android"}}, want: true},
		{name: "browser", f: track.Filter{Type: "browser", Values: []string{"Safari"}}, want: true},
		{name: "language", f: track.Filter{Type: "language", Values: []string{"EN"}}, want: true},
		{name: "ip", f: track.Filter{Type: "ip", Values: []string{"203.0.113.0/24", "2001:db8::/32"}}, want: true, otherIP: "198.51.100.1"},
		{name: "bot", f: track.Filter{Type: "bot"}, want: false},
		{name: "unique", f: track.Filter{Type: "unique"}, want: true},
		{name: "referrer contains", f: track.Filter{Type: "referrer", Op: "contains", Values: []string{"facebook.com"}}, want: true},
		{name: "referrer regex", f: track.Filter{Type: "referrer", Op: "regex", Values: []string{`^https://(www\.)?[Ff]acebook`}}, want: true},
		{name: "referrer empty", f: track.Filter{Type: "referrer", Op: "empty"}, want: false},
		{name: "referrer equals", f: track.Filter{Type: "referrer", Op: "equals", Values: []string{"https://www.Facebook.com/feed"}}, want: true},
		{name: "param equals", f: track.Filter{Type: "param", Name: "zone", Op: "equals", Values: []string{"123"}}, want: true, otherQuery: "zone=1234"},
		{name: "param in", f: track.Filter{Type: "param", Name: "src", Op: "in", Values: []string{"Push Ads", "pop"}}, want: true, otherQuery: "src=native"},
		{name: "param regex", f: track.Filter{Type: "param", Name: "zone", Op: "regex", Values: []string{`^\d{3}$`}}, want: true, otherQuery: "zone=12a"},
		{name: "param empty", f: track.Filter{Type: "param", Name: "empty", Op: "empty"}, want: true, otherQuery: "empty=x"},
		{name: "param missing is empty", f: track.Filter{Type: "param", Name: "nope", Op: "empty"}, want: true, otherQuery: "nope=1"},
		{name: "param escaped", f: track.Filter{Type: "param", Name: "utf", Op: "equals", Values: []string{"ü"}}, want: true, otherQuery: "utf=u"},
		{name: "schedule hours in zone", f: track.Filter{Type: "schedule", Hours: []int{9}, Timezone: "America/New_York"}, want: true,
			otherNow: now.Add(time.Hour)},
		{name: "schedule days", f: track.Filter{Type: "schedule", Days: []int{3}}, want: true, otherNow: now.Add(24 * time.Hour)},
	} {
		for _, mode := range []string{"accept", "reject"} {
			f := tc.f
			f.Mode = mode
			if err := f.Validate(); err != nil {
				t.Fatalf("%s: invalid filter: %v", tc.name, err)
			}
			cf, err := compileFilter(f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			st := &stream{filters: []filter{cf}}
			b := base
			v := &visit{c: &b, ip: ip, query: query, now: now}
			o := other
			ov := &visit{c: &o, ip: ip, query: query, now: now}
			if tc.otherIP != "" {
				ov.ip = netip.MustParseAddr(tc.otherIP)
			}
			if tc.otherQuery != "" {
				ov.query = tc.otherQuery
			}
			if !tc.otherNow.IsZero() {
				ov.now = tc.otherNow
			}
			want := tc.want == (mode == "accept")
			if got := st.pass(v); got != want {
				t.Errorf("%s (%s): base visit passes = %v, want %v", tc.name, mode, got, want)
			}
			if got := st.pass(ov); got == want {
				t.Errorf("%s (%s): other visit passes = %v, want %v", tc.name, mode, got, !want)
			}
		}
	}
}

func TestFilterModes(t *testing.T) {
	us, _ := compileFilter(track.Filter{Type: "country", Mode: "accept", Values: []string{"US"}})
	mobile, _ := compileFilter(track.Filter{Type: "device_type", Mode: "accept", Values: []string{"mobile"}})
	c := track.Click{Country: "US", DeviceType: "desktop"}
	v := &visit{c: &c}
	and := &stream{Stream: track.Stream{FilterMode: "and"}, filters: []filter{us, mobile}}
	or := &stream{Stream: track.Stream{FilterMode: "or"}, filters: []filter{us, mobile}}
	if and.pass(v) {
		t.Error("AND: US desktop passed US AND mobile")
	}
	if !or.pass(v) {
		t.Error("OR: US desktop failed US OR mobile")
	}
	c.Country = "FR"
	if or.pass(v) {
		t.Error("OR: FR desktop passed US OR mobile")
	}
}

func TestQueryValue(t *testing.T) {
	for _, tc := range []struct {
		raw, name, want string
		ok              bool
	}{
		{"a=1&b=2", "b", "2", true},
		{"a=1&a=2", "a", "1", true},
		{"a", "a", "", true},
		{"a=x%20y+z", "a", "x y z", true},
		{"a=%zz", "a", "%zz", true},
		{"my%20key=v", "my key", "v", true},
		{"", "a", "", false},
		{"ab=1", "a", "", false},
		{"&&=&a=&", "a", "", true},
	} {
		got, ok := queryValue(tc.raw, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("queryValue(%q, %q) = %q, %v; want %q, %v", tc.raw, tc.name, got, ok, tc.want, tc.ok)
		}
	}
	if n := testing.AllocsPerRun(100, func() { queryValue("zone=123&sub=abc&x=y", "x") }); n != 0 {
		t.Errorf("queryValue allocates %v times on a plain query", n)
	}
}

func FuzzQueryValue(f *testing.F) {
	f.Add("a=1&b=%20", "b")
	f.Fuzz(func(t *testing.T, raw, name string) {
		queryValue(raw, name)
	})
}
