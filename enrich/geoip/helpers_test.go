package geoip

import (
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/stretchr/testify/require"

	"siemfwd/ecs"
)

// place is one city-layout record for a test database.
type place struct {
	country, countryName, continent, continentName string
	city, region, regionISO, tz                    string
	lat, lon                                       float64
	noLocation                                     bool
}

func (p place) record() mmdbtype.Map {
	m := mmdbtype.Map{
		"country":   mmdbtype.Map{"iso_code": mmdbtype.String(p.country), "names": mmdbtype.Map{"en": mmdbtype.String(p.countryName), "de": mmdbtype.String("x-" + p.countryName)}},
		"continent": mmdbtype.Map{"code": mmdbtype.String(p.continent), "names": mmdbtype.Map{"en": mmdbtype.String(p.continentName)}},
	}
	if p.city != "" {
		m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.city)}}
	}
	if p.region != "" {
		m["subdivisions"] = mmdbtype.Slice{
			mmdbtype.Map{"iso_code": mmdbtype.String(p.regionISO), "names": mmdbtype.Map{"en": mmdbtype.String(p.region)}},
			mmdbtype.Map{"iso_code": mmdbtype.String("ZZZ"), "names": mmdbtype.Map{"en": mmdbtype.String("a county")}},
		}
	}
	if !p.noLocation {
		m["location"] = mmdbtype.Map{
			"latitude":        mmdbtype.Float64(p.lat),
			"longitude":       mmdbtype.Float64(p.lon),
			"time_zone":       mmdbtype.String(p.tz),
			"accuracy_radius": mmdbtype.Uint16(100),
		}
	}
	return m
}

var (
	london = place{country: "GB", countryName: "United Kingdom", continent: "EU", continentName: "Europe",
		city: "London", region: "England", regionISO: "ENG", tz: "Europe/London", lat: 51.5142, lon: -0.0931}
	melbourne = place{country: "AU", countryName: "Australia", continent: "OC", continentName: "Oceania",
		city: "Melbourne", region: "Victoria", regionISO: "VIC", tz: "Australia/Melbourne", lat: -37.8159, lon: 144.9669}
	paris = place{country: "FR", countryName: "France", continent: "EU", continentName: "Europe",
		city: "Paris", tz: "Europe/Paris", lat: 48.8534, lon: 2.3488}
	usOnly = place{country: "US", countryName: "United States", continent: "NA", continentName: "North America", noLocation: true}
	// planted in ranges Enrich must skip: a hit there means the skip failed
	nowhere = place{country: "AQ", countryName: "Antarctica", continent: "AN", continentName: "Antarctica", lat: -75, lon: 0}
)

// skippedNets are recorded in the test databases (IncludeReservedNetworks)
// so that only Enrich's own check can keep them out.
var skippedNets = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
	"100.64.0.0/10", "0.0.0.0/8", "224.0.0.0/4", "fc00::/7", "fe80::/10", "ff00::/8"}

// writeDB builds a real .mmdb file at path from network → record.
func writeDB(tb testing.TB, path, dbType string, recs map[string]mmdbtype.DataType) {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true, RecordSize: 28})
	require.NoError(tb, err)
	for cidr, rec := range recs {
		_, n, err := net.ParseCIDR(cidr)
		require.NoError(tb, err)
		require.NoError(tb, tree.Insert(n, rec))
	}
	// Written beside the target and renamed over it, as geoipupdate does.
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	require.NoError(tb, err)
	_, err = tree.WriteTo(f)
	require.NoError(tb, err)
	require.NoError(tb, f.Close())
	require.NoError(tb, os.Rename(tmp, path))
}

func cityRecs(extra map[string]place) map[string]mmdbtype.DataType {
	recs := map[string]mmdbtype.DataType{
		"81.2.69.0/24":   london.record(),
		"1.128.0.0/16":   melbourne.record(),
		"2001:4860::/32": usOnly.record(),
	}
	for _, n := range skippedNets {
		recs[n] = nowhere.record()
	}
	for n, p := range extra {
		recs[n] = p.record()
	}
	return recs
}

func asnRecs() map[string]mmdbtype.DataType {
	recs := map[string]mmdbtype.DataType{
		"81.2.69.0/24":   mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(20712), "autonomous_system_organization": mmdbtype.String("Andrews & Arnold Ltd")},
		"1.128.0.0/16":   mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(1221), "autonomous_system_organization": mmdbtype.String("Telstra Pty Ltd")},
		"2001:4860::/32": mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(15169)},
	}
	for _, n := range skippedNets {
		recs[n] = mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64512), "autonomous_system_organization": mmdbtype.String("nowhere")}
	}
	return recs
}

// testDBs writes a city and an ASN database into a temporary folder.
func testDBs(tb testing.TB) (city, asn string) {
	tb.Helper()
	dir := tb.TempDir()
	city, asn = filepath.Join(dir, "GeoLite2-City.mmdb"), filepath.Join(dir, "GeoLite2-ASN.mmdb")
	writeDB(tb, city, "GeoLite2-City", cityRecs(nil))
	writeDB(tb, asn, "GeoLite2-ASN", asnRecs())
	return city, asn
}

func newEnricher(tb testing.TB, cfg Config) *Enricher {
	tb.Helper()
	e, err := New(cfg, slog.New(slog.DiscardHandler))
	require.NoError(tb, err)
	return e
}

// encoded returns doc as the flat key → value map of its encoded JSON.
func encoded(tb testing.TB, doc *ecs.Document) map[string]any {
	tb.Helper()
	var enc ecs.Encoder
	var nested map[string]any
	out, err := enc.Append(nil, doc)
	require.NoError(tb, err)
	require.NoError(tb, json.Unmarshal(out, &nested))
	flat := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok && k != "location" {
				walk(prefix+k+".", sub)
				continue
			}
			flat[prefix+k] = v
		}
	}
	walk("", nested)
	return flat
}
