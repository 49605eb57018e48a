package geoip

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/stretchr/testify/require"

	"siemfwd/ecs"
)

func TestEnrichSourceAndDestination(t *testing.T) {
	city, asn := testDBs(t)
	e := newEnricher(t, Config{CityDB: city, ASNDB: asn})

	var doc ecs.Document
	doc.SetString(ecs.NewKey("source.ip"), "81.2.69.160")
	doc.SetString(ecs.NewKey("destination.ip"), "1.128.0.5")
	e.Enrich(&doc)
	got := encoded(t, &doc)

	require.Equal(t, map[string]any{
		"source.ip":                        "81.2.69.160",
		"source.geo.country_iso_code":      "GB",
		"source.geo.country_name":          "United Kingdom",
		"source.geo.continent_code":        "EU",
		"source.geo.continent_name":        "Europe",
		"source.geo.city_name":             "London",
		"source.geo.region_name":           "England",
		"source.geo.region_iso_code":       "GB-ENG",
		"source.geo.timezone":              "Europe/London",
		"source.geo.location":              map[string]any{"lat": 51.5142, "lon": -0.0931},
		"source.as.number":                 float64(20712),
		"source.as.organization.name":      "Andrews & Arnold Ltd",
		"destination.ip":                   "1.128.0.5",
		"destination.geo.country_iso_code": "AU",
		"destination.geo.country_name":     "Australia",
		"destination.geo.continent_code":   "OC",
		"destination.geo.continent_name":   "Oceania",
		"destination.geo.city_name":        "Melbourne",
		"destination.geo.region_name":      "Victoria",
		"destination.geo.region_iso_code":  "AU-VIC",
		"destination.geo.timezone":         "Australia/Melbourne",
		"destination.geo.location":         map[string]any{"lat": -37.8159, "lon": 144.9669},
		"destination.as.number":            float64(1221),
		"destination.as.organization.name": "Telstra Pty Ltd",
	}, got)
}

func TestEnrichAddressForms(t *testing.T) {
	city, asn := testDBs(t)
	e := newEnricher(t, Config{CityDB: city, ASNDB: asn})
	tests := []struct {
		name    string
		ip      string
		country string // "" = nothing added
		asn     float64
	}{
		{"ipv4", "81.2.69.1", "GB", 20712},
		{"ipv4-mapped ipv6", "::ffff:81.2.69.1", "GB", 20712},
		{"ipv6", "2001:4860:4860::8888", "US", 15169},
		{"ipv6 with zone", "2001:4860::1%eth0", "US", 15169},
		{"not in the database", "8.8.8.8", "", 0},
		{"host name", "mx.example.com", "", 0},
		{"garbage", "81.2.69", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc ecs.Document
			doc.SetString(ecs.NewKey("source.ip"), tt.ip)
			e.Enrich(&doc)
			if tt.country == "" {
				require.Len(t, doc.Fields(), 1, "nothing may be added for %s", tt.ip)
				return
			}
			got := encoded(t, &doc)
			require.Equal(t, tt.country, got["source.geo.country_iso_code"])
			require.Equal(t, tt.asn, got["source.as.number"])
		})
	}
}

func TestCountryOnlyRecordHasNoLocationOrCity(t *testing.T) {
	city, asn := testDBs(t)
	e := newEnricher(t, Config{CityDB: city, ASNDB: asn})
	var doc ecs.Document
	doc.SetString(ecs.NewKey("destination.ip"), "2001:4860::1")
	e.Enrich(&doc)
	got := encoded(t, &doc)
	require.Equal(t, "US", got["destination.geo.country_iso_code"])
	for _, k := range []string{"destination.geo.location", "destination.geo.city_name", "destination.geo.region_name",
		"destination.geo.timezone", "destination.as.organization.name"} {
		require.NotContains(t, got, k)
	}
	require.Equal(t, float64(15169), got["destination.as.number"])
}

// The databases hold records for every skipped range, so a field appearing
// here means Enrich looked the address up.
func TestNonRoutableAddressesAreNotLookedUp(t *testing.T) {
	city, asn := testDBs(t)
	e := newEnricher(t, Config{CityDB: city, ASNDB: asn})
	for _, ip := range []string{"10.1.2.3", "172.20.0.1", "192.168.1.1", "127.0.0.1", "169.254.10.10",
		"100.64.0.1", "100.127.255.254", "0.0.0.0", "224.0.0.251", "239.1.1.1", "::1", "::", "fd00::1",
		"fe80::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:100.100.1.1"} {
		t.Run(ip, func(t *testing.T) {
			var doc ecs.Document
			doc.SetString(ecs.NewKey("source.ip"), ip)
			doc.SetString(ecs.NewKey("destination.ip"), ip)
			e.Enrich(&doc)
			require.Len(t, doc.Fields(), 2)
		})
	}
}

func TestRoutable(t *testing.T) {
	tests := []struct {
		ip   string
		want bool
	}{
		{"100.63.255.255", true}, {"100.64.0.0", false}, {"100.127.255.255", false}, {"100.128.0.0", true},
		{"172.15.255.255", true}, {"172.16.0.0", false}, {"8.8.8.8", true}, {"2a00:1450::1", true},
		{"fe80::1", false}, {"fc00::1", false}, {"255.255.255.255", true}, // broadcast: no record in any database
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Routable(netip.MustParseAddr(tt.ip)), tt.ip)
	}
	require.False(t, Routable(netip.Addr{}))
}

func TestOneDatabaseOnly(t *testing.T) {
	city, asn := testDBs(t)

	e := newEnricher(t, Config{CityDB: city})
	var doc ecs.Document
	doc.SetString(ecs.NewKey("source.ip"), "81.2.69.1")
	e.Enrich(&doc)
	got := encoded(t, &doc)
	require.Equal(t, "GB", got["source.geo.country_iso_code"])
	require.NotContains(t, got, "source.as.number")

	e = newEnricher(t, Config{ASNDB: asn})
	doc.Reset()
	doc.SetString(ecs.NewKey("source.ip"), "81.2.69.1")
	e.Enrich(&doc)
	got = encoded(t, &doc)
	require.Equal(t, float64(20712), got["source.as.number"])
	require.NotContains(t, got, "source.geo.country_iso_code")
	require.True(t, e.Stats().CityBuild.IsZero())
	require.False(t, e.Stats().ASNBuild.IsZero())
}

func TestNewRefusesBadFiles(t *testing.T) {
	city, asn := testDBs(t)
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mmdb")
	require.NoError(t, os.WriteFile(junk, []byte("not a database"), 0o600))
	empty := filepath.Join(dir, "empty.mmdb")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	missing := filepath.Join(dir, "GeoLite2-City.mmdb")

	tests := []struct {
		name string
		cfg  Config
		want []string // every one must be in the error
	}{
		{"missing city", Config{CityDB: missing, ASNDB: asn}, []string{"city_db", missing, "no such file"}},
		{"missing both", Config{CityDB: missing, ASNDB: missing + "x"}, []string{"city_db", "asn_db"}},
		{"not a database", Config{CityDB: junk}, []string{"city_db", "invalid MaxMind DB"}},
		{"empty file", Config{ASNDB: empty}, []string{"asn_db", "invalid MaxMind DB"}},
		{"asn file as city_db", Config{CityDB: asn}, []string{"city_db", `"GeoLite2-ASN" database`}},
		{"city file as asn_db", Config{ASNDB: city}, []string{"asn_db", `"GeoLite2-City" database`}},
		{"invalid config", Config{CityDB: city, ReloadInterval: time.Millisecond}, []string{"reload_interval"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.cfg, nil)
			require.Error(t, err)
			require.Nil(t, e)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	require.False(t, DefaultConfig().Enabled())
	require.Equal(t, time.Minute, DefaultConfig().ReloadInterval)
	require.True(t, Config{ASNDB: "a"}.Enabled())
	require.NoError(t, Config{ReloadInterval: 0}.Validate(), "0 turns reloading off")

	err := Config{CityDB: "x.mmdb", ASNDB: "x.mmdb", ReloadInterval: -time.Second}.Validate()
	require.ErrorContains(t, err, "reload_interval: must be 0 (never) or at least 1s, got -1s")
	require.ErrorContains(t, err, "asn_db: must not be the same file as city_db")
}

func countryOf(t *testing.T, e *Enricher, ip string) any {
	t.Helper()
	var doc ecs.Document
	doc.SetString(ecs.NewKey("source.ip"), ip)
	e.Enrich(&doc)
	return encoded(t, &doc)["source.geo.country_iso_code"]
}

func TestReloadSwapsChangedFiles(t *testing.T) {
	city, asn := testDBs(t)
	e := newEnricher(t, Config{CityDB: city, ASNDB: asn, ReloadInterval: time.Minute})
	require.Equal(t, "GB", countryOf(t, e, "81.2.69.1"))
	build := e.Stats().CityBuild

	// Unchanged files are not read again.
	require.NoError(t, e.Reload())
	require.Zero(t, e.Stats().Reloads)

	// Renamed over (what geoipupdate does): a new inode.
	writeDB(t, city, "GeoLite2-City", cityRecs(map[string]place{"81.2.69.0/24": paris}))
	require.NoError(t, e.Reload())
	require.Equal(t, "FR", countryOf(t, e, "81.2.69.1"), "the new database answers, not the cached old record")
	require.Equal(t, uint64(1), e.Stats().Reloads)
	require.False(t, e.Stats().CityBuild.Before(build))

	// Rewritten in place, even with the same size: the modification time tells.
	v3 := filepath.Join(t.TempDir(), "v3.mmdb")
	writeDB(t, v3, "GeoLite2-City", cityRecs(map[string]place{"81.2.69.0/24": london}))
	b, err := os.ReadFile(v3)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(city, b, 0o600))
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(city, later, later))
	require.NoError(t, e.Reload())
	require.Equal(t, "GB", countryOf(t, e, "81.2.69.1"))
	require.Equal(t, uint64(2), e.Stats().Reloads)
}

func TestReloadKeepsOldDatabaseOnBadFile(t *testing.T) {
	city, asn := testDBs(t)
	e := newEnricher(t, Config{CityDB: city, ASNDB: asn})

	require.NoError(t, os.WriteFile(city+".tmp", []byte("half a download"), 0o600))
	require.NoError(t, os.Rename(city+".tmp", city))
	err := e.Reload()
	require.ErrorContains(t, err, "city_db")
	require.Equal(t, "GB", countryOf(t, e, "81.2.69.1"), "the loaded database stays in use")
	require.Equal(t, uint64(1), e.Stats().ReloadErrors)

	// The same broken version is not read (nor reported) at every check.
	require.NoError(t, e.Reload())
	require.Equal(t, uint64(1), e.Stats().ReloadErrors)

	// A removed file is reported at every check, and the old database stays.
	require.NoError(t, os.Remove(city))
	require.ErrorContains(t, e.Reload(), "no such file")
	require.Equal(t, "GB", countryOf(t, e, "81.2.69.1"))

	// A good file comes back.
	writeDB(t, city, "GeoLite2-City", cityRecs(map[string]place{"81.2.69.0/24": paris}))
	require.NoError(t, e.Reload())
	require.Equal(t, "FR", countryOf(t, e, "81.2.69.1"))
	require.Equal(t, uint64(1), e.Stats().Reloads)
}

// Lookups race with reloads; -race checks the swap, and every answer must
// come from one version or the other.
func TestEnrichDuringReload(t *testing.T) {
	city, asn := testDBs(t)
	e := newEnricher(t, Config{CityDB: city, ASNDB: asn})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			var doc ecs.Document
			for {
				select {
				case <-stop:
					return
				default:
				}
				doc.Reset()
				doc.SetString(ecs.NewKey("source.ip"), "81.2.69.1")
				e.Enrich(&doc)
				c := doc.GetString(ecs.NewKey("source.geo.country_iso_code"))
				if c != "GB" && c != "FR" {
					panic("country " + c)
				}
			}
		})
	}
	for i := range 6 {
		p := paris
		if i%2 == 1 {
			p = london
		}
		writeDB(t, city, "GeoLite2-City", cityRecs(map[string]place{"81.2.69.0/24": p}))
		require.NoError(t, e.Reload())
	}
	close(stop)
	wg.Wait()
	require.Equal(t, uint64(6), e.Stats().Reloads)
}

// Many records share the 4096 cache slots; each address must still get its own.
func TestCacheCollisionsKeepRecordsApart(t *testing.T) {
	dir := t.TempDir()
	city := filepath.Join(dir, "city.mmdb")
	extra := map[string]place{}
	for i := range 1000 {
		p := london
		p.city = fmt.Sprintf("town-%d", i)
		extra[fmt.Sprintf("5.%d.%d.0/24", i/250, i%250)] = p
	}
	writeDB(t, city, "GeoIP2-City", cityRecs(extra))
	e := newEnricher(t, Config{CityDB: city})
	for round := range 2 {
		for i := range 1000 {
			var doc ecs.Document
			doc.SetString(ecs.NewKey("source.ip"), fmt.Sprintf("5.%d.%d.9", i/250, i%250))
			e.Enrich(&doc)
			require.Equal(t, fmt.Sprintf("town-%d", i), doc.GetString(ecs.NewKey("source.geo.city_name")), "round %d", round)
		}
	}
}

func TestRunStopsWithContext(t *testing.T) {
	city, _ := testDBs(t)
	e := newEnricher(t, Config{CityDB: city, ReloadInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	cancel()
	require.NoError(t, <-done)

	e = newEnricher(t, Config{CityDB: city, ReloadInterval: 0})
	require.NoError(t, e.Run(context.Background()), "an interval of 0 returns at once")
}

// ecsType is one entry of testdata/ecs/ecs_flat.json.
type ecsType struct {
	Type      string   `json:"type"`
	Normalize []string `json:"normalize"`
}

func TestEveryEmittedFieldIsECS(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "ecs", "ecs_flat.json"))
	require.NoError(t, err)
	var schema map[string]ecsType
	require.NoError(t, json.Unmarshal(b, &schema))

	city, asn := testDBs(t)
	e := newEnricher(t, Config{CityDB: city, ASNDB: asn})
	var doc ecs.Document
	doc.SetString(ecs.NewKey("source.ip"), "81.2.69.160")
	doc.SetString(ecs.NewKey("destination.ip"), "2001:4860::1")
	e.Enrich(&doc)
	got := encoded(t, &doc)
	require.Greater(t, len(got), 15)
	for key, v := range got {
		def, ok := schema[key]
		require.True(t, ok, "%s is not an ECS field", key)
		switch def.Type {
		case "keyword":
			require.IsType(t, "", v, key)
		case "ip":
			s, _ := v.(string)
			_, err := netip.ParseAddr(s)
			require.NoError(t, err, key)
		case "long":
			n, ok := v.(float64)
			require.True(t, ok && n == float64(int64(n)), "%s: %v is not an integer", key, v)
		case "geo_point":
			m, ok := v.(map[string]any)
			require.True(t, ok, "%s: a geo_point is an object, got %T", key, v)
			require.Len(t, m, 2, key)
			lat, ok1 := m["lat"].(float64)
			lon, ok2 := m["lon"].(float64)
			require.True(t, ok1 && ok2 && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180, "%s: %v", key, m)
		default:
			t.Fatalf("%s: unexpected ECS type %s", key, def.Type)
		}
		require.False(t, strings.Contains(key, "..") || slicesContains(def.Normalize, "array"), key)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// A record with a latitude out of range gets no location rather than one
// Elasticsearch would refuse.
func TestOutOfRangeLocationIsLeftOut(t *testing.T) {
	dir := t.TempDir()
	city := filepath.Join(dir, "city.mmdb")
	bad := paris
	bad.lat = 123
	writeDB(t, city, "GeoLite2-City", map[string]mmdbtype.DataType{"81.2.69.0/24": bad.record()})
	e := newEnricher(t, Config{CityDB: city})
	var doc ecs.Document
	doc.SetString(ecs.NewKey("source.ip"), "81.2.69.1")
	e.Enrich(&doc)
	require.Equal(t, "FR", doc.GetString(ecs.NewKey("source.geo.country_iso_code")))
	require.False(t, doc.Has(ecs.NewKey("source.geo.location")))
}
