package enrich

import (
	"net/netip"
	"testing"

	useragent "github.com/medama-io/go-useragent"
)

var (
	sinkGeo     Geo
	sinkDevice  Device
	sinkVerdict Verdict
	sinkString  string
)

func BenchmarkGeoIPLoc(b *testing.B) {
	e := mustNew(b, Config{})
	ips := []netip.Addr{mustAddr("8.8.8.8"), mustAddr("81.2.69.142"), mustAddr("2001:4860:4860::8888"), mustAddr("2a02:ec80::1")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkGeo = e.Geo(ips[i&3])
	}
}

func BenchmarkGeoMMDB(b *testing.B) {
	e := mustNew(b, Config{MMDB: testDBs(b)}) // City, ASN, ISP, Connection-Type
	ips := []netip.Addr{mustAddr("8.8.8.8"), mustAddr("81.2.69.142"), mustAddr("2001:4860:4860::8888"), mustAddr("2a02:ec80::1")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkGeo = e.Geo(ips[i&3])
	}
}

func BenchmarkDeviceCached(b *testing.B) {
	e := mustNew(b, Config{})
	uas := make([]string, len(deviceCases))
	for i, tc := range deviceCases {
		uas[i] = tc.ua
		e.Device(tc.ua)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkDevice = e.Device(uas[i%len(uas)])
	}
}

// BenchmarkDeviceUncached is the full cost of a UA seen for the first time:
// parse, OS rules, bot checks including crawlerdetect, cache insert.
func BenchmarkDeviceUncached(b *testing.B) {
	e := mustNew(b, Config{UACacheSize: 1}) // consecutive UAs differ: every call misses
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sinkDevice = e.Device(deviceCases[i%len(deviceCases)].ua)
	}
}

// BenchmarkParseOnly is the UA parser alone (medama), for comparison.
func BenchmarkParseOnly(b *testing.B) {
	p := useragent.NewParser()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		u := p.Parse(deviceCases[i%len(deviceCases)].ua)
		sinkString = string(u.Browser())
	}
}

func BenchmarkBotCached(b *testing.B) {
	e := mustNew(b, Config{BotRanges: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8::/32")}})
	hdr := browserHeaders()
	ip := mustAddr("81.2.69.142")
	e.Bot(ip, chromeUA, hdr)
	b.ReportAllocs()
	for b.Loop() {
		sinkVerdict = e.Bot(ip, chromeUA, hdr)
	}
}

func BenchmarkLanguage(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkString = Language("de-CH,de;q=0.9,en;q=0.8")
	}
}

// BenchmarkClickPath is what a click handler does, from many goroutines.
func BenchmarkClickPath(b *testing.B) {
	e := mustNew(b, Config{MMDB: testDBs(b)})
	hdr := browserHeaders()
	ip := mustAddr("81.2.69.142")
	for _, tc := range deviceCases {
		e.Device(tc.ua)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			ua := deviceCases[i%len(deviceCases)].ua
			i++
			g := e.Geo(ip)
			d := e.Device(ua)
			v := e.Bot(ip, ua, hdr)
			l := Language(hdr["Accept-Language"][0])
			if g.Country == "" || d.Type == "" || (v.Bot && v.Reason == "") || l == "" {
				b.Fatal("unexpected")
			}
		}
	})
}
