package syslog

import (
	"container/list"
	"context"
	"net/netip"
	"sync"
	"time"
)

// rateLimiter is a token bucket per sender address. The buckets live in a
// map bounded by an LRU list: a flood of spoofed UDP source addresses can
// only evict buckets, never grow memory. An evicted sender starts again
// with a full burst, which is the price of the bound.
//
// UDP readers call allow per datagram; TCP and TLS readers call wait per
// batch, and the connection blocks until the sender is back under its rate.
type rateLimiter struct {
	rate  float64 // tokens per second
	burst float64
	max   int

	// now and sleep are the clock; tests replace them before Run.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration)

	mu      sync.Mutex // guards senders and lru
	senders map[netip.Addr]*list.Element
	lru     list.List // of *bucket, most recently used first
}

type bucket struct {
	addr   netip.Addr
	tokens float64 // negative while a TCP sender is in debt
	last   time.Time
}

// newRateLimiter returns nil when the limit is off.
func newRateLimiter(c RateLimitConfig) *rateLimiter {
	if c.EventsPerSecond <= 0 {
		return nil
	}
	burst := float64(c.Burst)
	if burst == 0 {
		burst = max(c.EventsPerSecond, 1)
	}
	return &rateLimiter{
		rate:    c.EventsPerSecond,
		burst:   burst,
		max:     c.MaxSenders,
		now:     time.Now,
		sleep:   sleepCtx,
		senders: make(map[netip.Addr]*list.Element),
	}
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// bucketLocked returns a's bucket, refilled up to now, creating it (and
// evicting the least recently used one when full) if needed.
func (l *rateLimiter) bucketLocked(a netip.Addr, now time.Time) *bucket {
	if e, ok := l.senders[a]; ok {
		l.lru.MoveToFront(e)
		b := e.Value.(*bucket)
		if dt := now.Sub(b.last); dt > 0 {
			b.tokens = min(l.burst, b.tokens+dt.Seconds()*l.rate)
			b.last = now
		}
		return b
	}
	if len(l.senders) >= l.max {
		e := l.lru.Back()
		b := e.Value.(*bucket)
		delete(l.senders, b.addr)
		*b = bucket{addr: a, tokens: l.burst, last: now}
		l.lru.MoveToFront(e)
		l.senders[a] = e
		return b
	}
	b := &bucket{addr: a, tokens: l.burst, last: now}
	l.senders[a] = l.lru.PushFront(b)
	return b
}

// allow takes one token for a if there is one. It never goes into debt:
// a UDP datagram over the limit is dropped, not delayed.
func (l *rateLimiter) allow(a netip.Addr) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(a, now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// reserve takes n tokens for a, going into debt if there are not enough,
// and returns how long the caller must wait until the debt is repaid.
func (l *rateLimiter) reserve(a netip.Addr, n int) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(a, now)
	b.tokens -= float64(n)
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / l.rate * float64(time.Second))
}

// wait takes n tokens for a and blocks until the sender is within its
// rate, or ctx ends. The connection reads nothing meanwhile, so its kernel
// window fills and that sender alone slows down.
func (l *rateLimiter) wait(ctx context.Context, a netip.Addr, n int) {
	if d := l.reserve(a, n); d > 0 {
		l.sleep(ctx, d)
	}
}

// len returns the number of tracked senders.
func (l *rateLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.senders)
}
