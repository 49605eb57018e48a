// Package geoip adds GeoIP and ASN fields (source.geo.*, source.as.*, and the
// same under destination.*) to ECS documents from MaxMind-format (.mmdb)
// databases: GeoLite2-City / GeoIP2-City and GeoLite2-ASN.
//
// One Enricher serves every worker. Lookups read an immutable database held
// behind an atomic pointer; a reload builds a new one and swaps the pointer,
// so lookups never wait and never see half a database.
//
// The databases are read into memory (maxminddb OpenBytes) rather than
// memory-mapped: a mapping must be unmapped when replaced, which is only
// safe once no lookup can still use it, and a file rewritten in place
// (instead of renamed over) would change under a mapping. With the bytes on
// the heap, the garbage collector frees an old database once the last lookup
// that loaded its pointer is done, and nothing ever needs closing. The cost
// is the database's size in memory (about 60 MB for GeoLite2-City), twice
// for a moment during a reload.
//
// It is part of the domain (enrich/): it may import ecs, never the engine,
// sources or sinks.
package geoip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"

	"siemfwd/ecs"
)

// Enricher looks up source.ip and destination.ip. It is safe for concurrent
// use; Enrich never blocks and never allocates once a record is cached.
type Enricher struct {
	city     *database[cityInfo] // nil when city_db is not configured
	asn      *database[asnInfo]  // nil when asn_db is not configured
	sides    [2]sideKeys
	interval time.Duration
	log      *slog.Logger

	reloads, reloadErrors, lookupErrors atomic.Uint64
}

// Stats are counters for metrics.
type Stats struct {
	Reloads      uint64    // databases loaded again after their file changed
	ReloadErrors uint64    // changed files that could not be loaded (the old database stays)
	LookupErrors uint64    // lookups or decodes that failed (a damaged database)
	CityBuild    time.Time // build time of the city database in use; zero when none
	ASNBuild     time.Time // build time of the ASN database in use; zero when none
}

// New opens the configured databases. A missing, unreadable or foreign file
// is an error: a misspelt path should stop the start, not silently leave the
// fields out. log receives reload messages.
func New(cfg Config, log *slog.Logger) (*Enricher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	e := &Enricher{
		interval: cfg.ReloadInterval,
		log:      log,
		sides: [2]sideKeys{
			newSideKeys("source"),
			newSideKeys("destination"),
		},
	}
	var errs []error
	if cfg.CityDB != "" {
		e.city = &database[cityInfo]{key: "city_db", path: cfg.CityDB, accepts: []string{"City", "Country", "Enterprise"}, decode: decodeCity}
		errs = append(errs, e.city.load())
	}
	if cfg.ASNDB != "" {
		e.asn = &database[asnInfo]{key: "asn_db", path: cfg.ASNDB, accepts: []string{"ASN", "ISP"}, decode: decodeASN}
		errs = append(errs, e.asn.load())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	return e, nil
}

// sideKeys are the fields of one end of a connection, declared once so that
// Enrich builds no keys.
type sideKeys struct {
	ip                                      ecs.Key
	countryISO, countryName                 ecs.Key
	continentCode, continentName            ecs.Key
	cityName, regionName, regionISO, tzName ecs.Key
	location                                ecs.Key
	asNumber, asOrg                         ecs.Key
}

func newSideKeys(side string) sideKeys {
	g := side + ".geo."
	return sideKeys{
		ip:            ecs.NewKey(side + ".ip"),
		countryISO:    ecs.NewKey(g + "country_iso_code"),
		countryName:   ecs.NewKey(g + "country_name"),
		continentCode: ecs.NewKey(g + "continent_code"),
		continentName: ecs.NewKey(g + "continent_name"),
		cityName:      ecs.NewKey(g + "city_name"),
		regionName:    ecs.NewKey(g + "region_name"),
		regionISO:     ecs.NewKey(g + "region_iso_code"),
		tzName:        ecs.NewKey(g + "timezone"),
		location:      ecs.NewKey(g + "location"),
		asNumber:      ecs.NewKey(side + ".as.number"),
		asOrg:         ecs.NewKey(side + ".as.organization.name"),
	}
}

// Enrich adds the geo and AS fields of source.ip and destination.ip to doc.
// An absent or unparsable address, one in a range that has no location
// (private, loopback, link-local, CGNAT, multicast, unspecified) and one the
// databases do not know add nothing.
func (e *Enricher) Enrich(doc *ecs.Document) {
	for i := range e.sides {
		k := &e.sides[i]
		s := doc.GetString(k.ip)
		if s == "" {
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if !Routable(ip) {
			continue
		}
		if e.city != nil {
			if c := e.city.lookup(ip, &e.lookupErrors); c != nil {
				c.fill(doc, k)
			}
		}
		if e.asn != nil {
			if a := e.asn.lookup(ip, &e.lookupErrors); a != nil {
				a.fill(doc, k)
			}
		}
	}
}

// Routable reports whether ip can have a location: it is valid and not
// private (RFC 1918, fc00::/7), loopback, link-local, CGNAT (100.64.0.0/10),
// multicast or unspecified. ip should be unmapped (netip.Addr.Unmap).
func Routable(ip netip.Addr) bool {
	return ip.IsValid() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() &&
		!ip.IsMulticast() && !ip.IsUnspecified() && !isCGNAT(ip)
}

// isCGNAT reports whether ip is in 100.64.0.0/10, the shared address space of
// carrier-grade NAT (RFC 6598), which netip.Addr.IsPrivate does not cover.
func isCGNAT(ip netip.Addr) bool {
	if !ip.Is4() {
		return false
	}
	a := ip.As4()
	return a[0] == 100 && a[1]&0xC0 == 64
}

// Reload checks both files and loads each one whose size, modification time
// or inode changed since it was loaded. Lookups go on with the old database
// until the new one is swapped in. A file that cannot be loaded leaves the old
// database in use and is not read again until it changes once more. Tests
// call Reload directly; Run calls it every reload_interval.
func (e *Enricher) Reload() error {
	var dbs []reloader
	if e.city != nil {
		dbs = append(dbs, e.city)
	}
	if e.asn != nil {
		dbs = append(dbs, e.asn)
	}
	var errs []error
	for _, db := range dbs {
		changed, err := db.reload()
		switch {
		case err != nil:
			e.reloadErrors.Add(1)
			errs = append(errs, err)
		case changed:
			e.reloads.Add(1)
			e.log.Info("geoip database reloaded", "key", db.name(), "path", db.file(), "build", db.build())
		}
	}
	return errors.Join(errs...)
}

// Run checks the files every reload_interval until ctx ends, logging reload
// failures. It returns nil at once when the interval is 0. Call it in its own
// goroutine; it returns only after ctx is done.
func (e *Enricher) Run(ctx context.Context) error {
	if e.interval <= 0 {
		return nil
	}
	t := time.NewTicker(e.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := e.Reload(); err != nil {
				e.log.Warn("geoip reload failed; keeping the loaded database", "err", err)
			}
		}
	}
}

// Stats returns the counters and the build times of the databases in use.
func (e *Enricher) Stats() Stats {
	s := Stats{Reloads: e.reloads.Load(), ReloadErrors: e.reloadErrors.Load(), LookupErrors: e.lookupErrors.Load()}
	if e.city != nil {
		s.CityBuild = e.city.build()
	}
	if e.asn != nil {
		s.ASNBuild = e.asn.build()
	}
	return s
}

// reloader is what Reload needs of a database of either layout.
type reloader interface {
	reload() (bool, error)
	name() string
	file() string
	build() time.Time
}

// database is one configured file and the loaded version of it.
type database[T any] struct {
	key     string   // config key, for messages
	path    string   // file path
	accepts []string // words one of which the database_type must contain
	decode  func(maxminddb.Result) (T, bool, error)

	cur    atomic.Pointer[loaded[T]]
	failed stamp // the file version that failed to load, so it is not read every check
}

// loaded is one immutable version of a database with its record cache.
type loaded[T any] struct {
	r     *maxminddb.Reader
	stamp stamp
	cache recordCache[T]
}

// stamp identifies a version of a file: a rename over the path changes the
// inode, a copy over it the size or the modification time.
type stamp struct {
	info os.FileInfo
}

func (s stamp) same(fi os.FileInfo) bool {
	return s.info != nil && fi != nil && os.SameFile(s.info, fi) && s.info.Size() == fi.Size() && s.info.ModTime().Equal(fi.ModTime())
}

func (db *database[T]) name() string { return db.key }
func (db *database[T]) file() string { return db.path }
func (db *database[T]) build() time.Time {
	if l := db.cur.Load(); l != nil {
		return l.r.Metadata.BuildTime().UTC()
	}
	return time.Time{}
}

// load reads the file and swaps it in.
func (db *database[T]) load() error {
	l, err := db.read()
	if err != nil {
		return err
	}
	db.cur.Store(l)
	return nil
}

// reload loads the file when it changed since the version in use. Only Run
// (or a test) calls it, never concurrently, so failed needs no lock.
func (db *database[T]) reload() (bool, error) {
	fi, err := os.Stat(db.path)
	if err != nil {
		return false, fmt.Errorf("%s: %w", db.key, err) // a vanished file is worth a warning at every check
	}
	if cur := db.cur.Load(); cur != nil && cur.stamp.same(fi) {
		return false, nil
	}
	if db.failed.same(fi) {
		return false, nil
	}
	if err := db.load(); err != nil {
		db.failed = stamp{fi}
		return false, err
	}
	db.failed = stamp{}
	return true, nil
}

// read loads the whole file and opens it as a database. A file that changes
// while it is read (a copy in progress) is refused; the next check retries.
func (db *database[T]) read() (*loaded[T], error) {
	f, err := os.Open(db.path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", db.key, err)
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", db.key, err)
	}
	buf := make([]byte, before.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", db.key, db.path, err)
	}
	after, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", db.key, err)
	}
	if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		return nil, fmt.Errorf("%s: %s changed while it was read; install new databases by renaming them into place", db.key, db.path)
	}
	r, err := maxminddb.OpenBytes(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", db.key, db.path, err)
	}
	if !containsAny(r.Metadata.DatabaseType, db.accepts) {
		return nil, fmt.Errorf("%s: %s is a %q database; want one whose type names %s", db.key, db.path,
			r.Metadata.DatabaseType, strings.Join(db.accepts, " or "))
	}
	return &loaded[T]{r: r, stamp: stamp{after}}, nil
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// lookup returns the record of ip, or nil when the database has none (or
// nothing this package uses).
func (db *database[T]) lookup(ip netip.Addr, errs *atomic.Uint64) *T {
	l := db.cur.Load()
	res := l.r.Lookup(ip)
	if !res.Found() {
		if res.Err() != nil {
			errs.Add(1)
		}
		return nil
	}
	off := res.Offset()
	slot := l.cache.slot(off)
	if c := slot.Load(); c != nil && c.offset == off {
		if !c.useful {
			return nil
		}
		return &c.v
	}
	v, useful, err := db.decode(res)
	if err != nil {
		errs.Add(1)
		return nil
	}
	c := &cached[T]{offset: off, v: v, useful: useful}
	slot.Store(c)
	if !useful {
		return nil
	}
	return &c.v
}

// cacheBits sizes the record cache: 4096 slots, 32 KiB of pointers per
// database. Records are shared by whole networks, so a few thousand cover
// the busy part of most sites' traffic.
const cacheBits = 12

// recordCache maps a record's offset in the database to its decoded fields.
// Each slot holds one immutable entry; a colliding record replaces it. Lock
// free: a racing reader sees either the old or the new entry, both complete.
type recordCache[T any] struct {
	slots [1 << cacheBits]atomic.Pointer[cached[T]]
}

type cached[T any] struct {
	offset uintptr
	v      T
	useful bool
}

func (c *recordCache[T]) slot(off uintptr) *atomic.Pointer[cached[T]] {
	h := uint64(off) * 0x9E3779B97F4A7C15 // Fibonacci hashing spreads nearby offsets
	return &c.slots[h>>(64-cacheBits)]
}

// cityInfo is what a city record contributes, decoded once per record.
type cityInfo struct {
	countryISO, countryName      string
	continentCode, continentName string
	cityName, regionName         string
	regionISO, tzName            string
	location                     []byte // {"lat":…,"lon":…}, shared read-only by every document; nil when absent
}

func (c *cityInfo) fill(d *ecs.Document, k *sideKeys) {
	d.SetStringNonEmpty(k.countryISO, c.countryISO)
	d.SetStringNonEmpty(k.countryName, c.countryName)
	d.SetStringNonEmpty(k.continentCode, c.continentCode)
	d.SetStringNonEmpty(k.continentName, c.continentName)
	d.SetStringNonEmpty(k.cityName, c.cityName)
	d.SetStringNonEmpty(k.regionName, c.regionName)
	d.SetStringNonEmpty(k.regionISO, c.regionISO)
	d.SetStringNonEmpty(k.tzName, c.tzName)
	if c.location != nil {
		d.SetRaw(k.location, c.location)
	}
}

// names holds the English name of a place; the other languages are skipped.
type names struct {
	EN string `maxminddb:"en"`
}

// cityRecord is the part of the GeoIP2-City layout this package reads.
type cityRecord struct {
	City struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
	Continent struct {
		Code  string `maxminddb:"code"`
		Names names  `maxminddb:"names"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"country"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
		TimeZone  string   `maxminddb:"time_zone"`
	} `maxminddb:"location"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
}

func decodeCity(res maxminddb.Result) (cityInfo, bool, error) {
	var r cityRecord
	if err := res.Decode(&r); err != nil {
		return cityInfo{}, false, err
	}
	c := cityInfo{
		countryISO:    r.Country.ISOCode,
		countryName:   r.Country.Names.EN,
		continentCode: r.Continent.Code,
		continentName: r.Continent.Names.EN,
		cityName:      r.City.Names.EN,
		tzName:        r.Location.TimeZone,
	}
	if len(r.Subdivisions) > 0 {
		// The first subdivision is the largest (a state, not a county).
		s := r.Subdivisions[0]
		c.regionName = s.Names.EN
		if s.ISOCode != "" && r.Country.ISOCode != "" {
			c.regionISO = r.Country.ISOCode + "-" + s.ISOCode // ECS: "CA-QC"
		}
	}
	if lat, lon := r.Location.Latitude, r.Location.Longitude; lat != nil && lon != nil &&
		*lat >= -90 && *lat <= 90 && *lon >= -180 && *lon <= 180 {
		b := make([]byte, 0, 48)
		b = append(b, `{"lat":`...)
		b = strconv.AppendFloat(b, *lat, 'f', -1, 64)
		b = append(b, `,"lon":`...)
		b = strconv.AppendFloat(b, *lon, 'f', -1, 64)
		c.location = append(b, '}')
	}
	useful := c.countryISO != "" || c.continentCode != "" || c.cityName != "" || c.location != nil
	return c, useful, nil
}

// asnInfo is what an ASN record contributes.
type asnInfo struct {
	number int64
	org    string
}

func (a *asnInfo) fill(d *ecs.Document, k *sideKeys) {
	d.SetInt(k.asNumber, a.number)
	d.SetStringNonEmpty(k.asOrg, a.org)
}

// asnRecord is the GeoLite2-ASN layout.
type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

func decodeASN(res maxminddb.Result) (asnInfo, bool, error) {
	var r asnRecord
	if err := res.Decode(&r); err != nil {
		return asnInfo{}, false, err
	}
	return asnInfo{number: int64(r.Number), org: r.Org}, r.Number != 0, nil
}
