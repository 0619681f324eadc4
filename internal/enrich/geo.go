package enrich

import (
	"fmt"
	"net/netip"
	"strings"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
	"github.com/phuslu/iploc"
)

// dbKind says which layout an .mmdb file's records have and which Geo
// fields it may fill.
type dbKind uint8

const (
	kindCity       dbKind = iota + 1 // nested: country, subdivisions, city
	kindCountry                      // nested: country only
	kindEnterprise                   // nested, plus traits (ASN, ISP, connection type)
	kindASN                          // flat: autonomous_system_*
	kindISP                          // flat: autonomous_system_*, isp
	kindConnType                     // flat: connection_type
)

func (k dbKind) String() string {
	switch k {
	case kindCity:
		return "City"
	case kindCountry:
		return "Country"
	case kindEnterprise:
		return "Enterprise"
	case kindASN:
		return "ASN"
	case kindISP:
		return "ISP"
	case kindConnType:
		return "Connection-Type"
	}
	return "unknown"
}

// knownDBTypes are the database_type values of MaxMind's and DB-IP's files.
var knownDBTypes = map[string]dbKind{
	"GeoLite2-City":                         kindCity,
	"GeoIP2-City":                           kindCity,
	"GeoIP2-City-Africa":                    kindCity,
	"GeoIP2-City-Asia-Pacific":              kindCity,
	"GeoIP2-City-Europe":                    kindCity,
	"GeoIP2-City-North-America":             kindCity,
	"GeoIP2-City-South-America":             kindCity,
	"GeoIP2-Precision-City":                 kindCity,
	"DBIP-City-Lite":                        kindCity,
	"DBIP-Location (compat=City)":           kindCity,
	"GeoLite2-Country":                      kindCountry,
	"GeoIP2-Country":                        kindCountry,
	"DBIP-Country-Lite":                     kindCountry,
	"DBIP-Country":                          kindCountry,
	"GeoIP2-Enterprise":                     kindEnterprise,
	"DBIP-ISP (compat=Enterprise)":          kindEnterprise,
	"DBIP-Location-ISP (compat=Enterprise)": kindEnterprise,
	"GeoLite2-ASN":                          kindASN,
	"DBIP-ASN-Lite (compat=GeoLite2-ASN)":   kindASN,
	"DBIP-ASN-Lite":                         kindASN,
	"GeoIP2-ISP":                            kindISP,
	"GeoIP2-Precision-ISP":                  kindISP,
	"GeoIP2-Connection-Type":                kindConnType,
}

// classifyDBType maps a database_type to a kind: exact names first, then
// by the words in it, so that new regional or vendor variants still work.
func classifyDBType(t string) (dbKind, bool) {
	if k, ok := knownDBTypes[t]; ok {
		return k, true
	}
	l := strings.ToLower(t)
	switch {
	case strings.Contains(l, "anonymous"), strings.Contains(l, "domain"):
		return 0, false // real types, but nothing Geo uses
	case strings.Contains(l, "enterprise"):
		return kindEnterprise, true
	case strings.Contains(l, "connection-type"), strings.Contains(l, "connection type"):
		return kindConnType, true
	case strings.Contains(l, "asn"):
		return kindASN, true
	case strings.Contains(l, "isp"):
		return kindISP, true
	case strings.Contains(l, "city"), strings.HasPrefix(l, "dbip") && strings.Contains(l, "location"):
		return kindCity, true
	case strings.Contains(l, "country"):
		return kindCountry, true
	}
	return 0, false
}

// nestedRecord is the part of a City/Country/Enterprise record we use.
type nestedRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   struct {
			En string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names struct {
			En string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Traits flatRecord `maxminddb:"traits"`
}

// flatRecord is the part of an ASN/ISP/Connection-Type record (or an
// Enterprise record's traits) we use.
type flatRecord struct {
	ASN            uint32 `maxminddb:"autonomous_system_number"`
	ASOrg          string `maxminddb:"autonomous_system_organization"`
	ISP            string `maxminddb:"isp"`
	ConnectionType string `maxminddb:"connection_type"`
}

// geoRecord is a decoded record, cached by its offset in the file.
type geoRecord struct {
	country, region, regionCode, city string
	asn                               uint32
	isp, asOrg, connType              string
}

type mmdbFile struct {
	path string
	kind dbKind
	r    *maxminddb.Reader
	recs *cache[uintptr, geoRecord]
}

func openMMDB(path string, cacheSize int, verify bool) (*mmdbFile, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("enrich: open mmdb %s: %w", path, err)
	}
	fail := func(err error) (*mmdbFile, error) {
		_ = r.Close()
		return nil, err
	}
	dbType := r.Metadata.DatabaseType
	kind, ok := classifyDBType(dbType)
	if !ok {
		return fail(fmt.Errorf("enrich: %s: unsupported database type %q (want a City, Country, ASN, ISP, Connection-Type or Enterprise database)", path, dbType))
	}
	if verify {
		if err := r.Verify(); err != nil {
			return fail(fmt.Errorf("enrich: %s: %w", path, err))
		}
	}
	db := &mmdbFile{path: path, kind: kind, r: r, recs: newCache[uintptr, geoRecord](cacheSize, uintptrHasher)}
	// Decode the first record: catches files whose records do not have the
	// shape their database_type promises.
	for res := range r.Networks() {
		if _, err := db.decode(res); err != nil {
			return fail(fmt.Errorf("enrich: %s: %s database with unexpected record (%v)", path, kind, err))
		}
		break
	}
	return db, nil
}

func (db *mmdbFile) decode(res maxminddb.Result) (geoRecord, error) {
	var rec geoRecord
	var flat flatRecord
	switch db.kind {
	case kindCity, kindCountry, kindEnterprise:
		var n nestedRecord
		if err := res.Decode(&n); err != nil {
			return rec, err
		}
		rec.country = strings.ToUpper(n.Country.ISOCode)
		if db.kind != kindCountry {
			if len(n.Subdivisions) > 0 {
				rec.region = n.Subdivisions[0].Names.En
				rec.regionCode = n.Subdivisions[0].ISOCode
			}
			rec.city = n.City.Names.En
		}
		if db.kind != kindEnterprise {
			return rec, nil
		}
		flat = n.Traits
	default:
		if err := res.Decode(&flat); err != nil {
			return rec, err
		}
	}
	switch db.kind {
	case kindASN:
		rec.asn, rec.asOrg = flat.ASN, flat.ASOrg
	case kindISP:
		rec.asn, rec.asOrg, rec.isp = flat.ASN, flat.ASOrg, flat.ISP
	case kindConnType:
		rec.connType = strings.ToLower(flat.ConnectionType)
	case kindEnterprise:
		rec.asn, rec.asOrg, rec.isp = flat.ASN, flat.ASOrg, flat.ISP
		rec.connType = strings.ToLower(flat.ConnectionType)
	}
	return rec, nil
}

// lookup returns the record for ip; ok is false when the file has none (or
// cannot answer, e.g. an IPv6 address in an IPv4-only file).
func (db *mmdbFile) lookup(ip netip.Addr) (geoRecord, bool) {
	res := db.r.Lookup(ip)
	if !res.Found() {
		return geoRecord{}, false
	}
	off := res.Offset()
	if rec, ok := db.recs.get(off); ok {
		return rec, true
	}
	rec, err := db.decode(res)
	if err != nil {
		return geoRecord{}, false
	}
	db.recs.put(off, rec)
	return rec, true
}

// Geo says where ip is. IPv4-mapped IPv6 addresses are unmapped first.
// Loopback, private, link-local, multicast and unspecified addresses give an
// empty Geo. The country comes from the first .mmdb that has one, else from
// the embedded table; every other field from the first .mmdb (in Config
// order) that has it. With the embedded table only, Geo does not allocate;
// with .mmdb files it does not allocate once the record is cached.
func (e *Enricher) Geo(ip netip.Addr) Geo {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsLoopback() || ip.IsPrivate() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() {
		return Geo{}
	}
	var g Geo
	var isp, asOrg string
	mmdbCountry := false
	for _, db := range e.dbs {
		rec, ok := db.lookup(ip)
		if !ok {
			continue
		}
		if !mmdbCountry && rec.country != "" {
			g.Country, mmdbCountry = rec.country, true
		}
		if g.Region == "" && g.RegionCode == "" {
			g.Region, g.RegionCode = rec.region, rec.regionCode
		}
		if g.City == "" {
			g.City = rec.city
		}
		if g.ASN == 0 {
			g.ASN = rec.asn
		}
		if isp == "" {
			isp = rec.isp
		}
		if asOrg == "" {
			asOrg = rec.asOrg
		}
		if g.ConnectionType == "" {
			g.ConnectionType = rec.connType
		}
	}
	if !mmdbCountry {
		if c := iploc.IPCountry(ip); c != "ZZ" {
			g.Country = c
		}
	}
	g.ISP = isp
	if g.ISP == "" {
		g.ISP = asOrg
	}
	return g
}
