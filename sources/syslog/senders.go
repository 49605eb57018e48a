package syslog

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strings"
	"time"

	"siemfwd/pipeline"
)

// senders decides, per datagram or connection, whether a sender may send
// and which Origin its events carry. It is built once in New and only read
// afterwards, so every reader shares it without locking.
type senders struct {
	base     *pipeline.Origin // senders that no address profile matches
	allow    prefixTable      // empty: everyone
	nAllow   int
	profiles prefixTable        // every address of every profile → profile index
	origins  []*pipeline.Origin // by profile index
}

// newSenders builds the base Origin, one shared Origin per profile, the
// allow-list and the address and hostname matchers. cfg has been validated.
func newSenders(name string, cfg Config) (*senders, error) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	s := &senders{base: &pipeline.Origin{
		Source:    name,
		Transport: cfg.Protocol,
		Format:    pipeline.FormatSyslog,
		Location:  loc,
		Product:   cfg.Product,
		Log:       cfg.Log,
		Charset:   cfg.Charset,
		ClockSkew: cfg.ClockSkew,
	}}
	for i, a := range cfg.Allow {
		p, err := parsePrefix(a)
		if err != nil {
			return nil, fmt.Errorf("allow: %w", err)
		}
		s.allow.add(p, i)
	}
	s.nAllow = len(cfg.Allow)
	origins := make([]*pipeline.Origin, len(cfg.Profiles))
	s.origins = origins
	for i, p := range cfg.Profiles {
		o, err := profileOrigin(s.base, p)
		if err != nil {
			return nil, fmt.Errorf("profiles[%d]: %w", i, err)
		}
		origins[i] = o
		for _, a := range p.Match.Addresses {
			pfx, err := parsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("profiles[%d].match.addresses: %w", i, err)
			}
			s.profiles.add(pfx, i)
		}
	}
	// Profile order decides between an address match (known when the
	// datagram or connection arrives) and a hostname match (known when the
	// worker has read the header): an event matched by address to profile
	// i moves to an earlier profile j < i whose hostname matches, never to
	// a later one.
	hm := newHostMatcher(cfg.Profiles, origins)
	s.base.ByHostname = hm.before(len(origins))
	for i, o := range origins {
		o.ByHostname = hm.before(i)
	}
	return s, nil
}

// profileOrigin copies base and applies a profile's settings over it.
func profileOrigin(base *pipeline.Origin, p ProfileConfig) (*pipeline.Origin, error) {
	o := *base
	o.Profile = p.Name
	if p.Timezone != "" {
		loc, err := time.LoadLocation(p.Timezone)
		if err != nil {
			return nil, fmt.Errorf("timezone: %w", err)
		}
		o.Location = loc
	}
	if p.Product != "" {
		o.Product = p.Product
	}
	if p.Log != "" {
		o.Log = p.Log
	}
	if p.Charset != "" {
		o.Charset = p.Charset
	}
	o.Dataset = p.Dataset
	o.Observer = pipeline.Observer{Name: p.Observer.Name, Vendor: p.Observer.Vendor,
		Product: p.Observer.Product, Type: p.Observer.Type}
	if p.ClockSkew > 0 {
		o.ClockSkew = p.ClockSkew
	}
	keys := make([]string, 0, len(p.Labels))
	for k := range p.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys) // a stable order, so documents are reproducible
	for _, k := range keys {
		o.Labels = append(o.Labels, pipeline.Label{Key: k, Value: p.Labels[k]})
	}
	return &o, nil
}

// allowed reports whether a may send.
func (s *senders) allowed(a netip.Addr) bool {
	if s.nAllow == 0 {
		return true
	}
	_, ok := s.allow.lookup(a)
	return ok
}

// origin returns the Origin of the first profile whose addresses hold a,
// or the source's own.
func (s *senders) origin(a netip.Addr) *pipeline.Origin {
	if i, ok := s.profiles.lookup(a); ok {
		return s.origins[i]
	}
	return s.base
}

// linearMax is the size up to which a prefixTable scans its entries: a
// Contains costs about 7 ns, a map probe per prefix length about 25 ns
// (BenchmarkSenders), and lists are usually short.
const linearMax = 8

// prefixTable maps prefixes to indexes and finds the smallest index whose
// prefix holds an address: the first entry in config order. Short tables
// are scanned; long ones are one map per prefix length, so the cost follows
// the number of distinct lengths, not of entries. Built once, then only read.
type prefixTable struct {
	entries []indexedPrefix // in order of add
	byLen   []lenMap        // built when entries outgrow linearMax
}

type indexedPrefix struct {
	prefix netip.Prefix
	index  int
}

type lenMap struct {
	bits int
	is4  bool
	m    map[netip.Prefix]int // masked prefix → smallest index
}

func (t *prefixTable) add(p netip.Prefix, index int) {
	t.entries = append(t.entries, indexedPrefix{p, index})
	if len(t.entries) <= linearMax {
		return
	}
	if len(t.entries) == linearMax+1 {
		for _, e := range t.entries[:linearMax] {
			t.addToMaps(e)
		}
	}
	t.addToMaps(t.entries[len(t.entries)-1])
}

func (t *prefixTable) addToMaps(e indexedPrefix) {
	is4 := e.prefix.Addr().Is4()
	for i := range t.byLen {
		if l := &t.byLen[i]; l.bits == e.prefix.Bits() && l.is4 == is4 {
			if old, ok := l.m[e.prefix]; !ok || e.index < old {
				l.m[e.prefix] = e.index
			}
			return
		}
	}
	t.byLen = append(t.byLen, lenMap{bits: e.prefix.Bits(), is4: is4, m: map[netip.Prefix]int{e.prefix: e.index}})
}

// lookup returns the smallest index whose prefix holds a.
func (t *prefixTable) lookup(a netip.Addr) (int, bool) {
	if t.byLen == nil {
		for _, e := range t.entries {
			if e.prefix.Contains(a) {
				return e.index, true
			}
		}
		return 0, false
	}
	best, found := 0, false
	for _, l := range t.byLen {
		if l.is4 != a.Is4() {
			continue
		}
		p, err := a.Prefix(l.bits)
		if err != nil {
			continue
		}
		if i, ok := l.m[p]; ok && (!found || i < best) {
			best, found = i, true
		}
	}
	return best, found
}

// peerCache remembers the verdict for the last sender a UDP reader saw:
// a recvmmsg batch mostly holds datagrams of one or a few senders, so this
// skips the scans for most of them. Each reader has its own.
type peerCache struct {
	addr    netip.Addr
	allowed bool
	origin  *pipeline.Origin
}

func (c *peerCache) lookup(s *senders, a netip.Addr) (bool, *pipeline.Origin) {
	if a != c.addr || !c.addr.IsValid() {
		c.addr, c.allowed, c.origin = a, s.allowed(a), s.origin(a)
	}
	return c.allowed, c.origin
}

// hostMatcher finds the first profile whose hostnames match a syslog
// HOSTNAME. Workers call it concurrently; it is read-only.
type hostMatcher struct {
	exact map[string]int // lower-case name → first profile index
	globs []hostGlob     // in profile order
	// origins[i] is profile i's Origin.
	origins []*pipeline.Origin
}

type hostGlob struct {
	pattern string // lower case
	profile int
}

func newHostMatcher(profiles []ProfileConfig, origins []*pipeline.Origin) *hostMatcher {
	hm := &hostMatcher{exact: make(map[string]int), origins: origins}
	for i, p := range profiles {
		for _, h := range p.Match.Hostnames {
			h = strings.ToLower(h)
			if strings.ContainsAny(h, `*?[\`) {
				hm.globs = append(hm.globs, hostGlob{pattern: h, profile: i})
			} else if _, seen := hm.exact[h]; !seen {
				hm.exact[h] = i
			}
		}
	}
	return hm
}

// before returns a lookup that considers only profiles with an index
// below limit, or nil when none of them has hostnames (the worker then
// skips the call).
func (hm *hostMatcher) before(limit int) func(string) *pipeline.Origin {
	has := false
	for _, i := range hm.exact {
		has = has || i < limit
	}
	for _, g := range hm.globs {
		has = has || g.profile < limit
	}
	if !has {
		return nil
	}
	return func(hostname string) *pipeline.Origin {
		if i := hm.match(hostname, limit); i >= 0 {
			return hm.origins[i]
		}
		return nil
	}
}

// match returns the index of the first profile below limit whose hostnames
// match, or -1.
func (hm *hostMatcher) match(hostname string, limit int) int {
	h := strings.ToLower(hostname) // allocates only when there is upper case
	best := limit
	if i, ok := hm.exact[h]; ok && i < best {
		best = i
	}
	for _, g := range hm.globs {
		if g.profile >= best {
			break // globs are in profile order: no earlier one is left
		}
		if ok, _ := path.Match(g.pattern, h); ok {
			best = g.profile
			break
		}
	}
	if best == limit {
		return -1
	}
	return best
}
