package ledger

import "net/netip"

// tallyWindow is how many of the latest senders Add looks back at to merge
// an event. Events of one connection or one UDP burst arrive together, so a
// short look-back merges nearly all of them while a batch of all-different
// senders still costs O(1) per event.
const tallyWindow = 4

// Tally gathers one batch's events by sender, so that a worker reads the
// clock once and takes each lock once per batch instead of once per event,
// and so that the batch's acknowledgement settles exactly what the batch
// entered.
//
// The worker calls Add for each event, then Ledger.ReceivedTally once before
// handing the batch on, and Ledger.DoneTally once from the batch's Ack. A
// source that refuses a whole batch calls Ledger.DroppedTally instead. A
// Tally is not safe for concurrent use while it is filled; after
// ReceivedTally it is only read, so the Ack may run on any goroutine.
type Tally struct {
	// items are pointer-free, so that growing them costs the garbage
	// collector nothing: a batch from 256 different UDP senders appends 256.
	items   []tallyItem
	hosts   []string // the latest HOSTNAME of items that had one
	tickets []*entry // set by ReceivedTally, one per item
	// order lists item indexes grouped by shard, so each shard is locked
	// once; nil when the ledger has one shard or the tally one item.
	order []int32
}

type tallyItem struct {
	ip    [16]byte // the address as 16 bytes (IPv4 mapped), zone dropped
	is4   bool
	valid bool // false for events with no address
	shard uint8
	n     int32
	host  int32 // index into hosts, or -1
}

func (it *tallyItem) addr() netip.Addr {
	switch {
	case !it.valid:
		return netip.Addr{}
	case it.is4:
		return netip.AddrFrom16(it.ip).Unmap()
	default:
		return netip.AddrFrom16(it.ip)
	}
}

// Add counts one event from addr with syslog HOSTNAME hostname ("" when
// unknown). hostname may alias the event's buffer until ReceivedTally.
func (t *Tally) Add(addr netip.Addr, hostname string) {
	addr = addr.Unmap()
	ip, is4, valid := addr.As16(), addr.Is4(), addr.IsValid()
	for i := len(t.items) - 1; i >= 0 && i >= len(t.items)-tallyWindow; i-- {
		if it := &t.items[i]; it.ip == ip && it.is4 == is4 && it.valid == valid {
			it.n++
			if hostname != "" {
				t.setHost(it, hostname)
			}
			return
		}
	}
	if t.items == nil {
		t.items = make([]tallyItem, 0, 16)
	}
	t.items = append(t.items, tallyItem{ip: ip, is4: is4, valid: valid, n: 1, host: -1})
	if hostname != "" {
		t.setHost(&t.items[len(t.items)-1], hostname)
	}
}

func (t *Tally) setHost(it *tallyItem, hostname string) {
	if it.host < 0 {
		if t.hosts == nil {
			t.hosts = make([]string, 0, 16)
		}
		it.host = int32(len(t.hosts))
		t.hosts = append(t.hosts, hostname)
		return
	}
	t.hosts[it.host] = hostname
}

func (t *Tally) hostname(it *tallyItem) string {
	if it.host < 0 {
		return ""
	}
	return t.hosts[it.host]
}

// Len returns how many events were added.
func (t *Tally) Len() int {
	n := 0
	for _, it := range t.items {
		n += int(it.n)
	}
	return n
}

// group sets each item's shard and, when there is more than one, orders
// the items by shard (a counting sort: the batch is not compared).
func (l *Ledger) group(t *Tally) {
	for i := range t.items {
		it := &t.items[i]
		it.shard = uint8(l.shardIndex(it.addr()))
	}
	if l.mask == 0 || len(t.items) < 2 {
		return
	}
	var start [maxShards + 1]int32
	for _, it := range t.items {
		start[it.shard+1]++
	}
	for s := 1; s <= maxShards; s++ {
		start[s] += start[s-1]
	}
	t.order = make([]int32, len(t.items))
	for i, it := range t.items {
		t.order[start[it.shard]] = int32(i)
		start[it.shard]++
	}
}

// each calls f for every item, holding the item's shard lock; each shard is
// locked once.
func (l *Ledger) each(t *Tally, f func(sh *shard, i int)) {
	if t.order == nil {
		if l.mask == 0 {
			sh := &l.shards[0]
			sh.mu.Lock()
			for i := range t.items {
				f(sh, i)
			}
			sh.mu.Unlock()
			return
		}
		for i := range t.items { // one item (or none)
			sh := &l.shards[t.items[i].shard]
			sh.mu.Lock()
			f(sh, i)
			sh.mu.Unlock()
		}
		return
	}
	for k := 0; k < len(t.order); {
		s := t.items[t.order[k]].shard
		sh := &l.shards[s]
		sh.mu.Lock()
		for ; k < len(t.order) && t.items[t.order[k]].shard == s; k++ {
			f(sh, int(t.order[k]))
		}
		sh.mu.Unlock()
	}
}

// ReceivedTally counts the tally's events as entering the pipeline, like
// Received for each sender.
func (l *Ledger) ReceivedTally(t *Tally) {
	if l == nil || len(t.items) == 0 {
		return
	}
	now := l.now().UnixNano()
	l.group(t)
	t.tickets = make([]*entry, len(t.items))
	l.each(t, func(sh *shard, i int) {
		it := &t.items[i]
		t.tickets[i] = sh.received(it.addr(), t.hostname(it), int(it.n), now, l.defaultInterval)
	})
	t.hosts = nil // do not keep the events' buffers alive until the ack
}

// DoneTally settles the tally's events: delivered when reason is "", else
// dropped with that reason. Call it once, after ReceivedTally.
func (l *Ledger) DoneTally(t *Tally, reason string) {
	if l == nil || len(t.tickets) != len(t.items) || len(t.items) == 0 {
		return // never received
	}
	l.each(t, func(_ *shard, i int) { t.tickets[i].done(int(t.items[i].n), reason) })
}

// DroppedTally counts the tally's events as refused before entering the
// pipeline, like Dropped for each sender: for a source that drops a whole
// batch (a full queue). Use it instead of ReceivedTally, not with it.
func (l *Ledger) DroppedTally(t *Tally, reason string) {
	if l == nil || len(t.items) == 0 {
		return
	}
	now := l.now().UnixNano()
	l.group(t)
	l.each(t, func(sh *shard, i int) {
		it := &t.items[i]
		sh.dropped(it.addr(), int(it.n), reason, now, l.defaultInterval)
	})
	t.hosts = nil
}

// Loss is one event of a batch that a sink neither stored nor dead-lettered.
type Loss struct {
	Addr   netip.Addr // the event's sender
	Reason string     // why it was lost, e.g. "dead_letter_failed"
}

// DoneTallyLosing settles the tally's events like DoneTally with no reason,
// except the lost ones, which are dropped with their reasons. A loss whose
// sender the tally does not hold (more losses than events) is ignored, so a
// caller's mistake cannot break the balance.
func (l *Ledger) DoneTallyLosing(t *Tally, losses []Loss) {
	if l == nil || len(t.tickets) != len(t.items) || len(t.items) == 0 {
		return
	}
	lost := make([][]reasonCount, len(t.items)) // per item
	left := make([]int32, len(t.items))
	for i, it := range t.items {
		left[i] = it.n
	}
	for _, loss := range losses {
		addr := loss.Addr.Unmap().WithZone("")
		for i := range t.items {
			if left[i] == 0 || t.items[i].addr() != addr {
				continue
			}
			left[i]--
			lost[i] = addReason(lost[i], loss.Reason)
			break
		}
	}
	l.each(t, func(_ *shard, i int) {
		t.tickets[i].done(int(left[i]), "")
		for _, rc := range lost[i] {
			t.tickets[i].done(int(rc.n), rc.reason)
		}
	})
}

func addReason(rcs []reasonCount, reason string) []reasonCount {
	for i := range rcs {
		if rcs[i].reason == reason {
			rcs[i].n++
			return rcs
		}
	}
	return append(rcs, reasonCount{reason, 1})
}

// Undeliver counts n of addr's events as dropped with reason after all:
// for a sink that acknowledged events to their source when it stored them in
// its disk buffer, and lost them later. It takes them from delivered, or,
// when their acknowledgement has not been settled yet (a disk-buffered sink
// may write before it), from in_flight, whose later settlement then finds
// fewer events to deliver (Done never settles more than are in flight).
// received is unchanged, so the sender still balances.
func (l *Ledger) Undeliver(addr netip.Addr, n int, reason string) {
	if l == nil || n <= 0 {
		return
	}
	addr = addr.Unmap().WithZone("")
	sh := l.shardFor(addr)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.m[addr]
	if e == nil {
		return // forgotten since: nothing to correct
	}
	fromDelivered := min(uint64(n), e.delivered)
	fromInFlight := min(uint64(n)-fromDelivered, e.inFlight)
	e.delivered -= fromDelivered
	e.inFlight -= fromInFlight
	if k := fromDelivered + fromInFlight; k > 0 {
		e.drop(reason, k)
	}
}
