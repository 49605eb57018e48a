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
	items []tallyItem
	// order lists item indexes grouped by shard, so each shard is locked
	// once; nil when the ledger has one shard or the tally one item.
	order []int32
}

type tallyItem struct {
	addr     netip.Addr
	hostname string
	n        int
	ticket   Ticket
	shard    int
}

// Add counts one event from addr with syslog HOSTNAME hostname ("" when
// unknown). hostname may alias the event's buffer until ReceivedTally.
func (t *Tally) Add(addr netip.Addr, hostname string) {
	for i := len(t.items) - 1; i >= 0 && i >= len(t.items)-tallyWindow; i-- {
		if it := &t.items[i]; it.addr == addr {
			it.n++
			if hostname != "" {
				it.hostname = hostname
			}
			return
		}
	}
	if t.items == nil {
		t.items = make([]tallyItem, 0, 16)
	}
	t.items = append(t.items, tallyItem{addr: addr, hostname: hostname, n: 1})
}

// Len returns how many events were added.
func (t *Tally) Len() int {
	n := 0
	for _, it := range t.items {
		n += it.n
	}
	return n
}

// group sets each item's shard and, when there is more than one, orders
// the items by shard (a counting sort: the batch is not compared).
func (l *Ledger) group(t *Tally) {
	for i := range t.items {
		it := &t.items[i]
		it.addr = it.addr.Unmap()
		it.shard = l.shardIndex(it.addr)
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
func (l *Ledger) each(t *Tally, f func(sh *shard, it *tallyItem)) {
	if t.order == nil {
		if l.mask == 0 {
			sh := &l.shards[0]
			sh.mu.Lock()
			for i := range t.items {
				f(sh, &t.items[i])
			}
			sh.mu.Unlock()
			return
		}
		for i := range t.items { // one item (or none)
			it := &t.items[i]
			sh := &l.shards[it.shard]
			sh.mu.Lock()
			f(sh, it)
			sh.mu.Unlock()
		}
		return
	}
	for k := 0; k < len(t.order); {
		s := t.items[t.order[k]].shard
		sh := &l.shards[s]
		sh.mu.Lock()
		for ; k < len(t.order) && t.items[t.order[k]].shard == s; k++ {
			f(sh, &t.items[t.order[k]])
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
	l.each(t, func(sh *shard, it *tallyItem) {
		it.ticket = Ticket{sh.received(it.addr, it.hostname, it.n, now, l.defaultInterval)}
		it.hostname = "" // do not keep the event's buffer alive until the ack
	})
}

// DoneTally settles the tally's events: delivered when reason is "", else
// dropped with that reason. Call it once, after ReceivedTally.
func (l *Ledger) DoneTally(t *Tally, reason string) {
	if l == nil || len(t.items) == 0 || t.items[0].ticket.e == nil {
		return // never received
	}
	l.each(t, func(_ *shard, it *tallyItem) { it.ticket.e.done(it.n, reason) })
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
	l.each(t, func(sh *shard, it *tallyItem) {
		sh.dropped(it.addr, it.n, reason, now, l.defaultInterval)
		it.hostname = ""
	})
}
