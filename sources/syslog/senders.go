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
	base  *pipeline.Origin // senders that no address profile matches
	allow []netip.Prefix   // empty: everyone
	// byAddr lists every address of every profile in profile order, so the
	// first hit is the first profile that matches.
	byAddr []addrProfile
}

type addrProfile struct {
	prefix netip.Prefix
	origin *pipeline.Origin
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
		ClockSkew: cfg.ClockSkew,
	}}
	for _, a := range cfg.Allow {
		p, err := parsePrefix(a)
		if err != nil {
			return nil, fmt.Errorf("allow: %w", err)
		}
		s.allow = append(s.allow, p)
	}
	origins := make([]*pipeline.Origin, len(cfg.Profiles))
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
			s.byAddr = append(s.byAddr, addrProfile{prefix: pfx, origin: o})
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

// allowed reports whether a may send. Few entries are the rule, so a
// linear scan (a few ns per prefix) beats anything cleverer.
func (s *senders) allowed(a netip.Addr) bool {
	if len(s.allow) == 0 {
		return true
	}
	for _, p := range s.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// origin returns the Origin of the first profile whose addresses hold a,
// or the source's own.
func (s *senders) origin(a netip.Addr) *pipeline.Origin {
	for _, ap := range s.byAddr {
		if ap.prefix.Contains(a) {
			return ap.origin
		}
	}
	return s.base
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
