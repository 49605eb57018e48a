// Package ledger answers an operator's first question about a log forwarder:
// "did everything device X sent get through, and is X still sending?"
//
// For every sender (keyed by its IP address) the ledger counts the events
// that entered the pipeline and what became of them, so that at every
// instant the ledger is read
//
//	received = delivered + dropped (all reasons) + in_flight
//
// Events enter with Received (or, when refused before entering, Dropped) and
// leave with Done. Every transition changes one sender's counters under one
// lock, and reads copy each sender under that same lock, so no reader ever
// sees a sender half-updated.
//
// Memory is bounded: at most max_senders senders are tracked, the least
// recently heard one is forgotten to make room (an eviction), and a Done for
// events of a forgotten sender is ignored; it cannot disturb the counters of
// the senders that remain, or of the same address tracked anew. Large
// ledgers are split into up to 16 lock shards, each holding its share of
// max_senders with its own LRU list, so eviction is least-recently-heard
// within a shard (to within a second), and can start when one shard is full
// while the others are not.
//
// The package is a leaf: it knows nothing of pipeline events, only addresses,
// hostnames, counts and reasons.
//
// It is engine support: it counts per sender address and outcome, knows
// nothing of what events say, and imports nothing of siemfwd, so the engine
// may import it.
package ledger

import (
	"cmp"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ReasonUnknown is recorded when Done or Dropped is given an empty drop reason.
const ReasonUnknown = "unknown"

// maxReasons bounds the distinct drop reasons kept per sender; further
// reasons are added up under ReasonOther. Callers pass a few constants, so
// this only guards against a caller passing error texts.
const maxReasons = 16

// lruResolution is how stale a sender's place in the LRU list may get: a
// sender heard again within this time keeps its place instead of moving to
// the front. Busy senders are heard thousands of times a second, and moving
// them every time would write to their list neighbours on every event (cache
// lines bouncing between the cores); eviction order is then least recently
// heard to within this resolution.
const lruResolution = int64(time.Second)

// ReasonOther collects drops whose reason did not fit in maxReasons.
const ReasonOther = "other"

// minPerShard is the fewest senders a shard holds; small ledgers use one
// shard, so their eviction order is exactly least-recently-heard.
const minPerShard = 64

// maxShards bounds the lock shards. Two cores gain nothing from more; the
// shards only keep a Snapshot, a scrape or the silence check from holding
// up every worker at once. A Tally keeps its shards in a uint32 mask.
const maxShards = 16

// Sender is a copy of one sender's counters, consistent at one instant.
// Senders are keyed by IP address: IPv4-mapped IPv6 addresses count as IPv4,
// and IPv6 zones are ignored.
type Sender struct {
	Address   netip.Addr        // the zero Addr for events that came with no address
	Hostname  string            // last syslog HOSTNAME seen, or the configured one until then
	FirstSeen time.Time         // zero when never heard (an expected sender)
	LastSeen  time.Time         // zero when never heard
	Received  uint64            // events that entered, or were refused at the door (Dropped)
	Delivered uint64            // events every sink acknowledged
	Dropped   map[string]uint64 // events lost, by reason; nil when none
	InFlight  uint64            // events entered and not yet done
	Expected  bool              // listed in expected_senders
	Interval  time.Duration     // longest normal silence; 0 = never quiet
	Quiet     bool              // silent for longer than Interval
}

// DroppedTotal adds up Dropped over every reason.
func (s Sender) DroppedTotal() uint64 {
	var n uint64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

// Ticket names the sender record that Received counted events against, so
// that Done settles them on the same record: after the sender was evicted
// (and perhaps tracked anew under the same address) Done is ignored instead
// of unbalancing the new record. The zero Ticket settles nothing.
type Ticket struct{ e *entry }

// entry is one sender's record. Every field is guarded by shard.mu.
type entry struct {
	addr                          netip.Addr
	hostname                      string
	first, last                   int64 // unix nanoseconds; 0 = never
	moved                         int64 // when last moved to the LRU front
	received, delivered, inFlight uint64
	dropped                       []reasonCount
	interval                      time.Duration
	expected                      bool // pinned: never evicted, not in the LRU list
	alerted                       bool // a silence alert went out and it has not spoken since
	evicted                       bool
	prev, next                    *entry // LRU list; head is the most recently heard
	shard                         *shard
}

type reasonCount struct {
	reason string
	n      uint64
}

// shard is one lock's share of the senders, with its own LRU list.
type shard struct {
	mu         sync.Mutex
	m          map[netip.Addr]*entry
	head, tail *entry
	lru        int // entries in the LRU list (not expected)
	max        int // most entries in the LRU list
	evictions  uint64
	_          [64]byte // keep shards' locks on separate cache lines
}

// Ledger counts events per sender. All methods are safe for concurrent use,
// and all are no-ops (returning zero values) on a nil *Ledger, so a pipeline
// without a ledger needs no checks.
type Ledger struct {
	now             func() time.Time
	start           int64 // creation time: expected senders never heard are quiet from here
	defaultInterval time.Duration
	maxSenders      int
	seed0, seed1    uint64
	mask            uint64
	shards          []shard
	alerts          atomic.Uint64
}

// New returns a ledger for cfg, which must have passed Validate (invalid
// expected senders are skipped). now is the clock; nil means time.Now.
func New(cfg Config, now func() time.Time) *Ledger {
	n := 1
	for n < maxShards && cfg.MaxSenders/(n*2) >= minPerShard {
		n *= 2
	}
	return newLedger(cfg, now, n)
}

// newLedger is New with a chosen number of shards (a power of two), so a
// benchmark can compare one lock with many.
func newLedger(cfg Config, now func() time.Time, shards int) *Ledger {
	if now == nil {
		now = time.Now
	}
	maxSenders := max(cfg.MaxSenders, 1)
	shards = min(shards, maxSenders)
	l := &Ledger{
		now:             now,
		start:           now().UnixNano(),
		defaultInterval: max(cfg.DefaultInterval, 0),
		maxSenders:      maxSenders,
		seed0:           rand.Uint64(),
		seed1:           rand.Uint64(),
		mask:            uint64(shards - 1),
		shards:          make([]shard, shards),
	}
	for i := range l.shards {
		sh := &l.shards[i]
		sh.m = map[netip.Addr]*entry{}
		// Share max_senders out so that the shards add up to it exactly.
		sh.max = maxSenders / shards
		if i < maxSenders%shards {
			sh.max++
		}
	}
	for _, es := range cfg.ExpectedSenders {
		addr, err := netip.ParseAddr(es.Address)
		if err != nil {
			continue
		}
		addr = addr.Unmap()
		interval := es.Interval
		if interval <= 0 {
			interval = l.defaultInterval
		}
		sh := l.shardFor(addr)
		sh.m[addr] = &entry{addr: addr, hostname: clip(es.Hostname), interval: interval, expected: true, shard: sh}
	}
	return l
}

// shardIndex picks addr's shard with a seeded mix of its 16 bytes; the
// seed keeps a sender of spoofed addresses from aiming at one shard's senders.
func (l *Ledger) shardIndex(addr netip.Addr) int {
	if l.mask == 0 {
		return 0
	}
	b := addr.As16()
	h := (binary.LittleEndian.Uint64(b[:8])^l.seed0)*0x9e3779b97f4a7c15 ^
		(binary.LittleEndian.Uint64(b[8:])^l.seed1)*0xc2b2ae3d27d4eb4f
	h ^= h >> 31
	h *= 0x94d049bb133111eb
	return int((h >> 32) & l.mask)
}

func (l *Ledger) shardFor(addr netip.Addr) *shard { return &l.shards[l.shardIndex(addr)] }

// Received counts n events from addr entering the pipeline: received and
// in_flight grow by n. hostname is the syslog HOSTNAME ("" keeps the last
// one); it is copied, so it may alias a buffer. Settle the events with Done
// and the returned Ticket. A worker handling batches should prefer a Tally:
// it reads the clock and takes each lock once per batch, not per event.
func (l *Ledger) Received(addr netip.Addr, hostname string, n int) Ticket {
	if l == nil || n <= 0 {
		return Ticket{}
	}
	addr = addr.Unmap().WithZone("")
	now := l.now().UnixNano()
	sh := l.shardFor(addr)
	sh.mu.Lock()
	e := sh.received(addr, hostname, n, now, l.defaultInterval)
	sh.mu.Unlock()
	return Ticket{e}
}

// received is Received with the shard locked.
func (sh *shard) received(addr netip.Addr, hostname string, n int, now int64, interval time.Duration) *entry {
	e := sh.touch(addr, now, interval)
	e.received += uint64(n)
	e.inFlight += uint64(n)
	if hostname != "" && hostname != e.hostname {
		e.hostname = strings.Clone(clip(hostname))
	}
	return e
}

// Done settles n events counted by Received: in_flight shrinks by n, and
// delivered grows by n when reason is "", else dropped[reason]. When the
// sender was evicted since, Done does nothing. It never settles more than
// are in flight, so a caller's mistake cannot break the balance.
func (l *Ledger) Done(t Ticket, n int, reason string) {
	e := t.e
	if l == nil || e == nil || n <= 0 {
		return
	}
	sh := e.shard
	sh.mu.Lock()
	e.done(n, reason)
	sh.mu.Unlock()
}

// done is Done with the entry's shard locked.
func (e *entry) done(n int, reason string) {
	if e.evicted {
		return
	}
	k := min(uint64(n), e.inFlight)
	e.inFlight -= k
	if reason == "" {
		e.delivered += k
	} else {
		e.drop(reason, k)
	}
}

// Dropped counts n events from addr that were refused before entering the
// pipeline (a full UDP queue, an allow-list, a rate limit): received and
// dropped[reason] grow by n. The sender counts as heard.
func (l *Ledger) Dropped(addr netip.Addr, n int, reason string) {
	if l == nil || n <= 0 {
		return
	}
	addr = addr.Unmap().WithZone("")
	now := l.now().UnixNano()
	sh := l.shardFor(addr)
	sh.mu.Lock()
	sh.dropped(addr, n, reason, now, l.defaultInterval)
	sh.mu.Unlock()
}

// dropped is Dropped with the shard locked.
func (sh *shard) dropped(addr netip.Addr, n int, reason string, now int64, interval time.Duration) {
	e := sh.touch(addr, now, interval)
	e.received += uint64(n)
	e.drop(reason, uint64(n))
}

// touch returns addr's entry, creating it (and evicting the least recently
// heard one when the shard is full), marks it heard at now and moves it to
// the front of the LRU list (at most once per lruResolution). Called with
// sh.mu held.
func (sh *shard) touch(addr netip.Addr, now int64, interval time.Duration) *entry {
	e := sh.m[addr]
	if e == nil {
		if sh.lru >= sh.max {
			sh.evict(sh.tail)
		}
		e = &entry{addr: addr, interval: interval, shard: sh, moved: now}
		sh.m[addr] = e
		sh.pushFront(e)
	} else if !e.expected && sh.head != e && now-e.moved >= lruResolution {
		sh.unlink(e)
		sh.pushFront(e)
		e.moved = now
	}
	if e.first == 0 {
		e.first = now
	}
	e.last = now
	e.alerted = false
	return e
}

func (sh *shard) evict(e *entry) {
	sh.unlink(e)
	delete(sh.m, e.addr)
	e.evicted = true
	sh.evictions++
}

func (sh *shard) pushFront(e *entry) {
	e.prev, e.next = nil, sh.head
	if sh.head != nil {
		sh.head.prev = e
	} else {
		sh.tail = e
	}
	sh.head = e
	sh.lru++
}

func (sh *shard) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		sh.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next = nil, nil
	sh.lru--
}

// drop adds n to dropped[reason]. Called with the shard's lock held.
func (e *entry) drop(reason string, n uint64) {
	if reason == "" {
		reason = ReasonUnknown
	}
	for i := range e.dropped {
		if e.dropped[i].reason == reason {
			e.dropped[i].n += n
			return
		}
	}
	if len(e.dropped) >= maxReasons-1 && reason != ReasonOther {
		e.drop(ReasonOther, n)
		return
	}
	e.dropped = append(e.dropped, reasonCount{reason, n})
}

// quiet reports whether e has been silent for longer than its interval at
// now. An expected sender never heard is silent since the ledger started.
func (e *entry) quiet(now, start int64) bool {
	if e.interval <= 0 {
		return false
	}
	since := e.last
	if since == 0 {
		since = start
	}
	return now-since > int64(e.interval)
}

// sender copies e. Called with the shard's lock held.
func (e *entry) sender(now, start int64) Sender {
	s := Sender{
		Address:   e.addr,
		Hostname:  e.hostname,
		Received:  e.received,
		Delivered: e.delivered,
		InFlight:  e.inFlight,
		Expected:  e.expected,
		Interval:  e.interval,
		Quiet:     e.quiet(now, start),
	}
	if e.first != 0 {
		s.FirstSeen = time.Unix(0, e.first).UTC()
		s.LastSeen = time.Unix(0, e.last).UTC()
	}
	if len(e.dropped) > 0 {
		s.Dropped = make(map[string]uint64, len(e.dropped))
		for _, d := range e.dropped {
			s.Dropped[d.reason] = d.n
		}
	}
	return s
}

// Snapshot copies every sender, sorted by address (the zero Addr first).
// Each sender is consistent; different senders may be copied a moment apart.
func (l *Ledger) Snapshot() []Sender {
	if l == nil {
		return nil
	}
	now := l.now().UnixNano()
	var out []Sender
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		out = slices.Grow(out, len(sh.m))
		for _, e := range sh.m {
			out = append(out, e.sender(now, l.start))
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Sender) int {
		return cmp.Or(a.Address.Compare(b.Address), strings.Compare(a.Hostname, b.Hostname))
	})
	return out
}

// Len returns how many senders are tracked, expected ones included.
func (l *Ledger) Len() int {
	if l == nil {
		return 0
	}
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// Evictions returns how many senders were forgotten to stay within
// max_senders. Events they still had in flight are no longer counted anywhere.
func (l *Ledger) Evictions() uint64 {
	if l == nil {
		return 0
	}
	var n uint64
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += sh.evictions
		sh.mu.Unlock()
	}
	return n
}

// Quiet returns how many senders are quiet now.
func (l *Ledger) Quiet() int {
	if l == nil {
		return 0
	}
	now := l.now().UnixNano()
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			if e.quiet(now, l.start) {
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// Alerts returns how many silence alerts Watch has emitted.
func (l *Ledger) Alerts() uint64 {
	if l == nil {
		return 0
	}
	return l.alerts.Load()
}

// Watch checks every interval for senders that went quiet and calls emit
// once for each: again for the same sender only after it has spoken and gone
// quiet again. emit runs on Watch's goroutine with no lock held (it may call
// the ledger, e.g. by sending the alert through the pipeline); while it
// blocks, checks wait. Watch returns when ctx is done.
func (l *Ledger) Watch(ctx context.Context, every time.Duration, emit func(Sender)) {
	if l == nil || every <= 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	l.watch(ctx, t.C, emit)
}

// watch is Watch with the ticks given, so tests can drive it.
func (l *Ledger) watch(ctx context.Context, ticks <-chan time.Time, emit func(Sender)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			l.check(emit)
		}
	}
}

// check emits every sender that is quiet now and was not yet alerted.
func (l *Ledger) check(emit func(Sender)) {
	now := l.now().UnixNano()
	var due []Sender
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			if !e.alerted && e.quiet(now, l.start) {
				e.alerted = true
				due = append(due, e.sender(now, l.start))
			}
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(due, func(a, b Sender) int { return a.Address.Compare(b.Address) })
	for _, s := range due {
		l.alerts.Add(1)
		emit(s)
	}
}

// clip cuts a hostname to maxHostname bytes.
func clip(s string) string {
	if len(s) > maxHostname {
		return s[:maxHostname]
	}
	return s
}
