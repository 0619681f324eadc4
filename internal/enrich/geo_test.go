package enrich

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeMMDB builds a tiny .mmdb of the given database type in dir.
func writeMMDB(tb testing.TB, dir, dbType string, ipVersion int, records map[string]mmdbtype.Map) string {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: dbType, IPVersion: ipVersion, RecordSize: 24,
		Description: map[string]string{"en": "trackd test " + dbType}, Languages: []string{"en", "de"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	for cidr, rec := range records {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			tb.Fatalf("insert %s: %v", cidr, err)
		}
	}
	path := filepath.Join(dir, strings.NewReplacer(" ", "_", "(", "", ")", "", "=", "").Replace(dbType)+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

func names(en string) mmdbtype.Map {
	return mmdbtype.Map{"en": mmdbtype.String(en), "de": mmdbtype.String(en + "-de")}
}

func cityRec(country, regionCode, region, city string) mmdbtype.Map {
	m := mmdbtype.Map{
		"country": mmdbtype.Map{"iso_code": mmdbtype.String(country), "names": names(country), "geoname_id": mmdbtype.Uint32(1)},
		"city":    mmdbtype.Map{"names": names(city), "geoname_id": mmdbtype.Uint32(2)},
		"location": mmdbtype.Map{"latitude": mmdbtype.Float64(51.5), "longitude": mmdbtype.Float64(-0.1),
			"time_zone": mmdbtype.String("Europe/London")},
	}
	sub := mmdbtype.Map{"names": names(region)}
	if regionCode != "" {
		sub["iso_code"] = mmdbtype.String(regionCode)
	}
	m["subdivisions"] = mmdbtype.Slice{sub, mmdbtype.Map{"iso_code": mmdbtype.String("XX"), "names": names("Second level")}}
	return m
}

// testDBs writes City, ASN, ISP and Connection-Type databases and returns
// their paths in that order.
func testDBs(tb testing.TB) []string {
	tb.Helper()
	dir := tb.TempDir()
	city := writeMMDB(tb, dir, "GeoLite2-City", 6, map[string]mmdbtype.Map{
		"81.2.69.0/24":    cityRec("GB", "ENG", "England", "London"),
		"2a02:ec80::/32":  cityRec("DE", "BY", "Bavaria", "Munich"),
		"8.8.8.0/24":      cityRec("CA", "ON", "Ontario", "Toronto"), // deliberately not iploc's "US"
		"175.16.199.0/24": {"country": mmdbtype.Map{"iso_code": mmdbtype.String("CN")}},
	})
	asn := writeMMDB(tb, dir, "GeoLite2-ASN", 6, map[string]mmdbtype.Map{
		"8.8.8.0/24":      {"autonomous_system_number": mmdbtype.Uint32(15169), "autonomous_system_organization": mmdbtype.String("GOOGLE")},
		"2001:4860::/32":  {"autonomous_system_number": mmdbtype.Uint32(15169), "autonomous_system_organization": mmdbtype.String("GOOGLE")},
		"81.2.69.0/24":    {"autonomous_system_number": mmdbtype.Uint32(99999), "autonomous_system_organization": mmdbtype.String("AS org loses to ISP")},
		"175.16.199.0/24": {"autonomous_system_number": mmdbtype.Uint32(4837), "autonomous_system_organization": mmdbtype.String("CHINA UNICOM China169 Backbone")},
	})
	isp := writeMMDB(tb, dir, "GeoIP2-ISP", 6, map[string]mmdbtype.Map{
		"81.2.69.0/24": {
			"autonomous_system_number": mmdbtype.Uint32(20712), "autonomous_system_organization": mmdbtype.String("Andrews & Arnold Ltd"),
			"isp": mmdbtype.String("Andrews & Arnold Ltd ISP"), "organization": mmdbtype.String("STONEHOUSE"),
		},
		"2a02:ec80::/32": {
			"autonomous_system_number": mmdbtype.Uint32(3320), "autonomous_system_organization": mmdbtype.String("Deutsche Telekom AG"),
			"isp": mmdbtype.String("Telekom Deutschland"),
		},
	})
	conn := writeMMDB(tb, dir, "GeoIP2-Connection-Type", 6, map[string]mmdbtype.Map{
		"81.2.69.0/24":   {"connection_type": mmdbtype.String("Cable/DSL")},
		"2a02:ec80::/32": {"connection_type": mmdbtype.String("Cellular")},
		"8.8.8.0/24":     {"connection_type": mmdbtype.String("Corporate")},
	})
	// ASN is listed before ISP on purpose: the ASN of the earlier file wins,
	// but an ISP name beats an AS organisation whatever the order.
	return []string{city, asn, isp, conn}
}

func mustNew(tb testing.TB, cfg Config) *Enricher {
	tb.Helper()
	e, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = e.Close() })
	return e
}

func TestGeoMMDB(t *testing.T) {
	e := mustNew(t, Config{MMDB: testDBs(t)})
	tests := []struct {
		ip   string
		want Geo
	}{
		{"81.2.69.142", Geo{Country: "GB", Region: "England", RegionCode: "ENG", City: "London", ASN: 99999, ISP: "Andrews & Arnold Ltd ISP", ConnectionType: "cable/dsl"}},
		{"::ffff:81.2.69.142", Geo{Country: "GB", Region: "England", RegionCode: "ENG", City: "London", ASN: 99999, ISP: "Andrews & Arnold Ltd ISP", ConnectionType: "cable/dsl"}},
		{"2a02:ec80:300:1::1", Geo{Country: "DE", Region: "Bavaria", RegionCode: "BY", City: "Munich", ASN: 3320, ISP: "Telekom Deutschland", ConnectionType: "cellular"}},
		// .mmdb country wins over iploc's "US"; ISP falls back to the AS org.
		{"8.8.8.8", Geo{Country: "CA", Region: "Ontario", RegionCode: "ON", City: "Toronto", ASN: 15169, ISP: "GOOGLE", ConnectionType: "corporate"}},
		// Country-only record in the City file.
		{"175.16.199.1", Geo{Country: "CN", ASN: 4837, ISP: "CHINA UNICOM China169 Backbone"}},
		// Only the ASN file knows it; the country comes from iploc.
		{"2001:4860:4860::8888", Geo{Country: "US", ASN: 15169, ISP: "GOOGLE"}},
		// No file knows it: iploc only.
		{"1.1.1.1", Geo{Country: "AU"}},
	}
	for _, tt := range tests {
		for range 2 { // second round is served from the record cache
			if got := e.Geo(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Errorf("Geo(%s) =\n %+v, want\n %+v", tt.ip, got, tt.want)
			}
		}
	}
}

func TestGeoPrivateAndUnknown(t *testing.T) {
	e := mustNew(t, Config{MMDB: testDBs(t)})
	for _, s := range []string{"10.1.2.3", "192.168.1.1", "172.16.0.1", "127.0.0.1", "0.0.0.0", "169.254.1.1",
		"224.0.0.1", "::1", "::", "fe80::1", "fd00::1", "ff02::1", "::ffff:10.0.0.1", "fe80::1%eth0"} {
		if got := e.Geo(netip.MustParseAddr(s)); got != (Geo{}) {
			t.Errorf("Geo(%s) = %+v, want empty", s, got)
		}
	}
	if got := e.Geo(netip.Addr{}); got != (Geo{}) {
		t.Errorf("Geo(zero Addr) = %+v, want empty", got)
	}
	// Reserved but not private: iploc says "ZZ", which must become "".
	for _, s := range []string{"100.64.0.1", "2001:db8::1", "240.0.0.1"} {
		if got := e.Geo(netip.MustParseAddr(s)); got != (Geo{}) {
			t.Errorf("Geo(%s) = %+v, want empty", s, got)
		}
	}
}

func TestGeoIPLocOnly(t *testing.T) {
	e := mustNew(t, Config{})
	for ip, want := range map[string]string{
		"8.8.8.8":              "US",
		"::ffff:8.8.8.8":       "US",
		"2001:4860:4860::8888": "US",
		"81.2.69.142":          "GB",
		"2a00:1450:4001::1":    "DE",
	} {
		got := e.Geo(netip.MustParseAddr(ip))
		if got != (Geo{Country: want}) {
			t.Errorf("Geo(%s) = %+v, want Country %q only", ip, got, want)
		}
	}
}

func TestGeoEnterpriseAndDBIP(t *testing.T) {
	dir := t.TempDir()
	ent := writeMMDB(t, dir, "DBIP-Location-ISP (compat=Enterprise)", 6, map[string]mmdbtype.Map{
		"81.2.69.0/24": func() mmdbtype.Map {
			m := cityRec("GB", "", "England", "London") // DB-IP has no subdivision iso_code
			m["traits"] = mmdbtype.Map{
				"autonomous_system_number": mmdbtype.Uint32(20712), "autonomous_system_organization": mmdbtype.String("AAISP"),
				"isp": mmdbtype.String("Andrews & Arnold"), "connection_type": mmdbtype.String("Cable/DSL"),
			}
			return m
		}(),
	})
	v4only := writeMMDB(t, dir, "GeoLite2-Country", 4, map[string]mmdbtype.Map{
		"81.2.69.0/24": {"country": mmdbtype.Map{"iso_code": mmdbtype.String("IE")}},
	})
	e := mustNew(t, Config{MMDB: []string{ent, v4only}})
	want := Geo{Country: "GB", Region: "England", City: "London", ASN: 20712, ISP: "Andrews & Arnold", ConnectionType: "cable/dsl"}
	if got := e.Geo(netip.MustParseAddr("81.2.69.1")); got != want {
		t.Errorf("enterprise: got %+v, want %+v", got, want)
	}
	// IPv6 lookup in an IPv4-only file must not fail the whole lookup.
	if got := e.Geo(netip.MustParseAddr("2001:4860:4860::8888")); got != (Geo{Country: "US"}) {
		t.Errorf("ipv6 with v4-only file: got %+v", got)
	}
	// The order of files decides: the Country file first wins the country.
	e2 := mustNew(t, Config{MMDB: []string{v4only, ent}})
	if got := e2.Geo(netip.MustParseAddr("81.2.69.1")).Country; got != "IE" {
		t.Errorf("first file should win the country, got %q", got)
	}
}

func TestClassifyDBType(t *testing.T) {
	for typ, want := range map[string]dbKind{
		"GeoLite2-City": kindCity, "GeoIP2-City-Europe": kindCity, "DBIP-City-Lite": kindCity,
		"DBIP-Location (compat=City)": kindCity, "GeoLite2-Country": kindCountry, "DBIP-Country-Lite": kindCountry,
		"GeoLite2-ASN": kindASN, "DBIP-ASN-Lite (compat=GeoLite2-ASN)": kindASN, "GeoIP2-ISP": kindISP,
		"GeoIP2-Connection-Type": kindConnType, "GeoIP2-Enterprise": kindEnterprise,
		"DBIP-ISP (compat=Enterprise)": kindEnterprise, "GeoIP2-City-Oceania": kindCity, "Acme-ASN": kindASN,
	} {
		if got, ok := classifyDBType(typ); !ok || got != want {
			t.Errorf("classifyDBType(%q) = %v, %v; want %v", typ, got, ok, want)
		}
	}
	for _, typ := range []string{"GeoIP2-Anonymous-IP", "GeoIP2-Domain", "ipinfo standard_location", ""} {
		if k, ok := classifyDBType(typ); ok {
			t.Errorf("classifyDBType(%q) = %v, want unsupported", typ, k)
		}
	}
}

func TestNewBadFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "not-a-db.mmdb")
	if err := os.WriteFile(text, []byte("this is not a MaxMind DB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mmdb")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	anon := writeMMDB(t, dir, "GeoIP2-Anonymous-IP", 6, map[string]mmdbtype.Map{
		"81.2.69.0/24": {"is_anonymous": mmdbtype.Bool(true)},
	})
	// An "ASN" file whose ASN is a string: the wrong shape for its type.
	badShape := writeMMDB(t, dir, "GeoLite2-ASN", 6, map[string]mmdbtype.Map{
		"8.8.8.0/24": {"autonomous_system_number": mmdbtype.String("AS15169")},
	})
	good := testDBs(t)[0]
	for _, tc := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "missing.mmdb"), "no such file"},
		{text, "invalid"},
		{empty, ""},
		{dir, ""},
		{anon, `unsupported database type "GeoIP2-Anonymous-IP"`},
		{badShape, "unexpected record"},
	} {
		e, err := New(Config{MMDB: []string{good, tc.path}})
		if err == nil {
			_ = e.Close()
			t.Errorf("New(%s): no error", tc.path)
			continue
		}
		if !strings.Contains(err.Error(), tc.path) {
			t.Errorf("New(%s): error %q does not name the path", tc.path, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%s): error %q does not contain %q", tc.path, err, tc.want)
		}
	}
	if _, err := New(Config{BotRanges: []netip.Prefix{{}}}); err == nil {
		t.Error("New with an invalid bot range: no error")
	}
}

func TestNewVerify(t *testing.T) {
	e := mustNew(t, Config{MMDB: testDBs(t), VerifyMMDB: true})
	if got := e.Geo(netip.MustParseAddr("81.2.69.142")).City; got != "London" {
		t.Errorf("City = %q", got)
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestGeoNoAlloc(t *testing.T) {
	plain := mustNew(t, Config{})
	v4, v6 := netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2a00:1450:4001::1")
	if n := testing.AllocsPerRun(1000, func() { plain.Geo(v4); plain.Geo(v6) }); n != 0 {
		t.Errorf("Geo with iploc only allocates %v times", n)
	}
	withDB := mustNew(t, Config{MMDB: testDBs(t)})
	ip := netip.MustParseAddr("81.2.69.142")
	withDB.Geo(ip) // fill the record caches
	if n := testing.AllocsPerRun(1000, func() { withDB.Geo(ip) }); n != 0 {
		t.Errorf("Geo with cached .mmdb records allocates %v times", n)
	}
}
