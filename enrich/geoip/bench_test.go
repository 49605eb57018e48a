package geoip

import (
	"fmt"
	"path/filepath"
	"testing"

	"siemfwd/ecs"
	"siemfwd/internal/cputime"
)

// BenchmarkEnrich measures one event's Enrich with both databases: a public
// source (cached record), a private destination (skipped), no address at all,
// and a cold cache (a different record each time, so every lookup decodes).
func BenchmarkEnrich(b *testing.B) {
	dir := b.TempDir()
	city, asn := filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	extra := map[string]place{}
	for i := range 8192 {
		p := london
		p.city = fmt.Sprintf("town-%d", i)
		extra[fmt.Sprintf("5.%d.%d.0/24", i/256, i%256)] = p
	}
	writeDB(b, city, "GeoLite2-City", cityRecs(extra))
	writeDB(b, asn, "GeoLite2-ASN", asnRecs())
	e := newEnricher(b, Config{CityDB: city, ASNDB: asn})
	many := make([]string, 8192)
	for i := range many {
		many[i] = fmt.Sprintf("5.%d.%d.9", i/256, i%256)
	}

	cases := []struct {
		name     string
		src, dst func(i int) string
	}{
		{"public-src+private-dst", func(int) string { return "81.2.69.160" }, func(int) string { return "192.168.1.10" }},
		{"public-src+public-dst", func(int) string { return "81.2.69.160" }, func(int) string { return "1.128.0.5" }},
		{"ipv6-src", func(int) string { return "2001:4860::8888" }, nil},
		{"private-only", func(int) string { return "10.1.2.3" }, nil},
		{"no-ip", nil, nil},
		{"cold-cache", func(i int) string { return many[i%len(many)] }, nil},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			var doc ecs.Document
			cputime.Bench(b, func(i int) {
				doc.Reset()
				doc.SetString(ecs.NewKey("event.kind"), "event")
				if bc.src != nil {
					doc.SetString(ecs.NewKey("source.ip"), bc.src(i))
				}
				if bc.dst != nil {
					doc.SetString(ecs.NewKey("destination.ip"), bc.dst(i))
				}
				e.Enrich(&doc)
			})
		})
	}
}
