// Package mailflow joins the Kerio Connect Mail log lines of one message
// (they share the Queue-ID, email.local_id) into one summary event: who sent
// it, from where, how big, and what became of each recipient.
//
// The Tracker only observes: the individual events go on unchanged and
// undelayed, and a summary is an extra event. It is emitted when the last
// recipient has a final result, or after a timeout, or early when the state
// bound is reached.
//
// Worker order: several workers feed one Tracker, so a message's Sent line
// can be observed before its Recv line. A Sent line for an unknown Queue-ID
// therefore opens an entry too. Such an entry becomes a summary only once
// its Recv line arrives; if none arrives before the timeout (the Recv line
// was before siemfwd started, or was lost), it is dropped without a summary
// and counted as orphaned: a summary without sender, size and client would
// tell nothing the Sent events do not.
//
// It is part of the domain (enrich/): it may import ecs, never the engine,
// sources or sinks.
package mailflow

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"siemfwd/ecs"
)

// Tags of summaries that were not complete.
const (
	TagTimeout = "mail_flow_timeout" // emitted at the timeout, before every recipient had a final result
	TagEvicted = "mail_flow_evicted" // emitted early because max_open_messages was reached
)

// The event.action values the Tracker reads and the one it writes.
const (
	actionReceived  = "message-received"
	actionSent      = "message-sent"
	actionDiscarded = "message-discarded"
	// ActionFlow is the event.action of a summary.
	ActionFlow = "message-flow"
)

// Reason tells why a summary was emitted.
type Reason uint8

// The reasons a summary is emitted.
const (
	Completed Reason = iota // every recipient has a final result
	TimedOut                // the timeout passed first
	Evicted                 // max_open_messages was reached and it was the oldest
)

// Recipient is one recipient of a summary and what became of it.
type Recipient struct {
	Address       string `json:"address"`
	Result        string `json:"result"`                   // Kerio's Result: delivered, relayed, failed, delayed, …; "pending" when none came
	Status        string `json:"status,omitempty"`         // Kerio's Status: the SMTP enhanced status, e.g. 5.1.1
	DestinationIP string `json:"destination_ip,omitempty"` // the server it was handed to
	Destination   string `json:"destination,omitempty"`    // that server's name, when Kerio logged a name, not an address
}

// Summary is one message's mail flow. Its slices are its own: the Tracker
// keeps no reference after handing it out.
type Summary struct {
	Observer   string      // observer.hostname of the mail server; "" when the events had none
	LocalID    string      // the Queue-ID
	From       string      // envelope sender; "" for the null sender <> or when unknown
	To         []string    // every recipient: those of the Recv line, then those only Sent lines named
	Size       int64       // message size in bytes; -1 when unknown
	ClientIP   string      // source.ip of the Recv line (the sending host); "" when none
	Recipients []Recipient // recipients with a result; in a timed-out or evicted summary also those without ("pending")
	Dropped    int         // recipients past max_recipients, not kept
	Start      time.Time   // the earliest event time of the message
	End        time.Time   // the latest result's event time; zero when no result came
	LastSeen   time.Time   // the latest event time of any line of the message
	Outcome    string      // success, failure or unknown
	Reason     Reason
}

// Fields that summaries and their lines use.
var (
	keyEmailFromAddress           = ecs.NewKey("email.from.address")
	keyEmailLocalID               = ecs.NewKey("email.local_id")
	keyEmailToAddress             = ecs.NewKey("email.to.address")
	keyEventAction                = ecs.NewKey("event.action")
	keyEventCategory              = ecs.NewKey("event.category")
	keyEventDataset               = ecs.NewKey("event.dataset")
	keyEventDuration              = ecs.NewKey("event.duration")
	keyEventEnd                   = ecs.NewKey("event.end")
	keyEventKind                  = ecs.NewKey("event.kind")
	keyEventModule                = ecs.NewKey("event.module")
	keyEventOutcome               = ecs.NewKey("event.outcome")
	keyEventStart                 = ecs.NewKey("event.start")
	keyEventType                  = ecs.NewKey("event.type")
	keyKerioMailRecipients        = ecs.NewKey("kerio.mail.recipients")
	keyKerioMailRecipientsDropped = ecs.NewKey("kerio.mail.recipients_dropped")
	keyKerioMailSize              = ecs.NewKey("kerio.mail.size")
	keyObserverHostname           = ecs.NewKey("observer.hostname")
	keyObserverProduct            = ecs.NewKey("observer.product")
	keyObserverType               = ecs.NewKey("observer.type")
	keyObserverVendor             = ecs.NewKey("observer.vendor")
	keyRelatedIP                  = ecs.NewKey("related.ip")
	keySourceIP                   = ecs.NewKey("source.ip")
	keyTags                       = ecs.NewKey("tags")
	keyTimestamp                  = ecs.NewKey("@timestamp")
)

// Fill sets the summary's fields on d, an empty document. The caller adds
// what every event carries (ecs.version, agent.*, data_stream.*, …).
func (s *Summary) Fill(d *ecs.Document) {
	d.SetString(keyEventKind, "event")
	d.SetStrings(keyEventCategory, "email")
	d.SetStrings(keyEventType, "info")
	d.SetString(keyEventAction, ActionFlow)
	d.SetString(keyEventModule, "kerio_connect")
	d.SetString(keyEventDataset, "kerio_connect.mail")
	d.SetString(keyEventOutcome, s.Outcome)
	d.SetString(keyObserverVendor, "Kerio")
	d.SetString(keyObserverProduct, "Kerio Connect")
	d.SetString(keyObserverType, "mail-server")
	d.SetStringNonEmpty(keyObserverHostname, s.Observer)
	d.SetString(keyEmailLocalID, s.LocalID)
	d.SetStringNonEmpty(keyEmailFromAddress, s.From)
	if len(s.To) > 0 {
		d.SetStrings(keyEmailToAddress, s.To...)
	}
	if s.Size >= 0 {
		d.SetInt(keyKerioMailSize, s.Size)
	}
	if s.ClientIP != "" {
		d.SetString(keySourceIP, s.ClientIP)
		d.AppendUnique(keyRelatedIP, s.ClientIP)
	}
	for _, r := range s.Recipients {
		d.AppendUnique(keyRelatedIP, r.DestinationIP)
	}
	d.SetTime(keyEventStart, s.Start)
	if !s.End.IsZero() {
		d.SetTime(keyEventEnd, s.End)
		d.SetInt(keyEventDuration, int64(max(s.End.Sub(s.Start), 0)))
		d.SetTime(keyTimestamp, s.End)
	} else {
		d.SetTime(keyTimestamp, s.LastSeen)
	}
	recipients := s.Recipients
	if recipients == nil {
		recipients = []Recipient{}
	}
	b, err := json.Marshal(recipients)
	if err == nil { // cannot fail for strings; checked all the same
		d.SetRaw(keyKerioMailRecipients, b)
	}
	if s.Dropped > 0 {
		d.SetInt(keyKerioMailRecipientsDropped, int64(s.Dropped))
	}
	switch s.Reason {
	case TimedOut:
		d.AppendString(keyTags, TagTimeout)
	case Evicted:
		d.AppendString(keyTags, TagEvicted)
	}
}

// Stats are the Tracker's counters, for metrics.
type Stats struct {
	Open      int    // messages waiting for results now
	Emitted   uint64 // summaries made, for every reason
	Completed uint64 // summaries of messages whose every recipient had a final result
	TimedOut  uint64 // summaries emitted at the timeout
	Evicted   uint64 // entries pushed out by max_open_messages (summaries, and orphans dropped)
	Orphaned  uint64 // entries of Sent lines whose Recv line never came, dropped without a summary
}

// Tracker correlates the Mail log lines of each message. It is safe for
// concurrent use by every worker: one mutex guards its state, held for a map
// look-up and a few field copies per mail event. Other events take no lock.
type Tracker struct {
	cfg Config

	mu        sync.Mutex
	open      map[key]*message
	head      *message          // oldest first seen: the next to time out or be evicted
	tail      *message          // newest
	observers map[string]string // interned observer names
	stats     Stats
}

// New returns a Tracker. cfg must be valid.
func New(cfg Config) *Tracker {
	return &Tracker{cfg: cfg, open: map[key]*message{}, observers: map[string]string{}}
}

// key identifies a message: the Queue-ID is only unique per server.
type key struct{ observer, id string }

// state is where a recipient's delivery stands.
type state uint8

const (
	pending state = iota // named by the Recv line, no Sent line yet
	delayed              // a Sent line with a result that is not final (delayed, or a word not known)
	succeeded
	failed
)

type rcpt struct {
	address, result, status, destIP, destName string
	state                                     state
}

type message struct {
	key        key
	hasRecv    bool
	from       string
	clientIP   string
	size       int64
	expected   int // rcpts[:expected] came from the Recv line
	rcpts      []rcpt
	dropped    int
	firstSeen  time.Time // receive time of the first line, for the timeout
	start, end time.Time // event times: earliest line, latest result
	lastSeen   time.Time // event time of the latest line
	prev, next *message
}

// Observe reads one event after the Kerio parser and the timestamp logic
// have filled doc. It returns the summaries this event completes (or evicts),
// usually none; it neither changes doc nor keeps references into it.
// received is when siemfwd received the event; the timeout counts from it.
func (t *Tracker) Observe(doc *ecs.Document, received time.Time) []Summary {
	action := doc.GetString(keyEventAction)
	if action != actionReceived && action != actionSent && action != actionDiscarded {
		return nil
	}
	var l line
	l.read(doc)
	if l.id == "" || l.module != "kerio_connect" {
		return nil
	}
	at := received
	if !l.at.IsZero() {
		at = l.at
	}
	k := key{l.observer, l.id}

	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Summary
	m := t.open[k]
	if m == nil {
		if action == actionDiscarded {
			return nil // nothing known to summarise
		}
		if len(t.open) >= t.cfg.MaxOpenMessages {
			if s, ok := t.removeOldest(Evicted); ok {
				out = append(out, s)
			}
		}
		m = &message{key: key{t.intern(k.observer), strings.Clone(k.id)}, size: -1, firstSeen: received, start: at}
		t.open[m.key] = m
		t.pushBack(m)
	}
	if at.Before(m.start) {
		m.start = at
	}
	if at.After(m.lastSeen) {
		m.lastSeen = at
	}
	switch action {
	case actionReceived:
		t.received(m, &l)
	case actionSent:
		t.sent(m, &l, at)
	case actionDiscarded:
		for i := range m.rcpts {
			if r := &m.rcpts[i]; r.state == pending || r.state == delayed {
				r.result, r.state = "discarded", failed
			}
		}
		if len(m.rcpts) == 0 {
			m.rcpts = append(m.rcpts, rcpt{result: "discarded", state: failed})
		}
		m.end = maxTime(m.end, at)
	}
	if m.complete() {
		t.remove(m)
		t.stats.Completed++
		out = append(out, t.summary(m, Completed))
	}
	return out
}

// line holds the fields of one mail event that the Tracker reads. Its
// strings and slice point into the document: copy before keeping them.
type line struct {
	module, id, observer string
	at                   time.Time
	from, clientIP       string
	size                 int64
	hasSize              bool
	to                   []string
	result, status       string
	destIP, destName     string
}

// read takes every field in one pass over doc (cheaper than a look-up per
// key); a later entry of a key wins, as in the encoder.
func (l *line) read(doc *ecs.Document) {
	fields := doc.Fields()
	for i := range fields {
		f := &fields[i]
		switch f.Key.Name() {
		case "event.module":
			l.module = f.Text()
		case "email.local_id":
			l.id = f.Text()
		case "observer.hostname":
			l.observer = f.Text()
		case "@timestamp":
			if f.Kind == ecs.KindTime {
				l.at = f.Time
			}
		case "email.from.address":
			l.from = f.Text()
		case "source.ip":
			l.clientIP = f.Text()
		case "kerio.mail.size":
			l.size, l.hasSize = f.Int, f.Kind == ecs.KindInt
		case "email.to.address":
			if f.Kind == ecs.KindStrings {
				l.to = f.Strs
			}
		case "kerio.mail.result":
			l.result = f.Text()
		case "kerio.mail.status":
			l.status = f.Text()
		case "destination.ip":
			l.destIP = f.Text()
		case "destination.domain":
			l.destName = f.Text()
		}
	}
}

// Expire emits the messages first seen at least timeout before now, tagged
// mail_flow_timeout, and drops the orphans among them. Call it from a ticker
// (every few seconds); now is normally time.Now().
func (t *Tracker) Expire(now time.Time) []Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Summary
	for t.head != nil && !now.Before(t.head.firstSeen.Add(t.cfg.Timeout)) {
		if s, ok := t.removeOldest(TimedOut); ok {
			out = append(out, s)
		}
	}
	return out
}

// Flush emits every open message as if it had timed out, for shutdown, so
// that what is known is not lost.
func (t *Tracker) Flush() []Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Summary
	for t.head != nil {
		if s, ok := t.removeOldest(TimedOut); ok {
			out = append(out, s)
		}
	}
	return out
}

// Stats returns the counters.
func (t *Tracker) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.Open = len(t.open)
	return s
}

// received records a Recv line: sender, size, client and the recipients.
func (t *Tracker) received(m *message, l *line) {
	m.hasRecv = true
	if l.from != "" && m.from == "" {
		m.from = strings.Clone(l.from)
	}
	if l.clientIP != "" && m.clientIP == "" {
		m.clientIP = strings.Clone(l.clientIP)
	}
	if l.hasSize && m.size < 0 {
		m.size = l.size
	}
	if m.rcpts == nil {
		m.rcpts = make([]rcpt, 0, min(len(l.to), t.cfg.MaxRecipients))
	}
	// The Recv recipients go first; a Sent line may have come earlier and
	// opened an entry for one of them, which then moves into the Recv part.
	for _, a := range l.to {
		i := m.find(a)
		switch {
		case i >= 0 && i < m.expected:
			continue // named twice
		case i >= 0:
			m.rcpts[i], m.rcpts[m.expected] = m.rcpts[m.expected], m.rcpts[i]
		case len(m.rcpts) >= t.cfg.MaxRecipients:
			m.dropped++
			continue
		default:
			m.rcpts = append(m.rcpts, rcpt{address: strings.Clone(a)})
			last := len(m.rcpts) - 1
			m.rcpts[last], m.rcpts[m.expected] = m.rcpts[m.expected], m.rcpts[last]
		}
		m.expected++
	}
}

// sent records a Sent line's result for its recipient(s).
func (t *Tracker) sent(m *message, l *line, at time.Time) {
	st := classify(l.result)
	if st != delayed {
		m.end = maxTime(m.end, at)
	}
	for _, a := range l.to {
		i := m.find(a)
		if i < 0 {
			if len(m.rcpts) >= t.cfg.MaxRecipients {
				m.dropped++
				continue
			}
			m.rcpts = append(m.rcpts, rcpt{address: strings.Clone(a)})
			i = len(m.rcpts) - 1
		}
		r := &m.rcpts[i]
		if (r.state == succeeded || r.state == failed) && st == delayed {
			continue // a late "delayed" does not undo a final result
		}
		r.result, r.state = internResult(l.result), st
		r.status = cloneIfChanged(r.status, l.status)
		r.destIP = cloneIfChanged(r.destIP, l.destIP)
		r.destName = cloneIfChanged(r.destName, l.destName)
	}
}

// find returns the index of the recipient a (compared without case: Kerio
// logs an address as it was written in each line), or -1.
func (m *message) find(a string) int {
	for i := range m.rcpts {
		if strings.EqualFold(m.rcpts[i].address, a) {
			return i
		}
	}
	return -1
}

// complete reports whether every recipient has a final result. When Sent
// lines name recipients the Recv line did not (an alias or a forward
// expanded), the Recv recipients themselves never get a result; the message
// is then complete once there are at least as many final results as Recv
// recipients and none is still delayed.
func (m *message) complete() bool {
	if !m.hasRecv || m.dropped > 0 {
		return false
	}
	finals, expectedPending := 0, 0
	for i := range m.rcpts {
		switch m.rcpts[i].state {
		case succeeded, failed:
			finals++
		case delayed:
			return false
		case pending:
			if i < m.expected {
				expectedPending++
			}
		}
	}
	if finals == 0 {
		return false
	}
	if expectedPending == 0 {
		return true
	}
	return len(m.rcpts) > m.expected && finals >= m.expected
}

// summary turns a removed message into its Summary.
func (t *Tracker) summary(m *message, why Reason) Summary {
	t.stats.Emitted++
	s := Summary{
		Observer: m.key.observer, LocalID: m.key.id, From: m.from, Size: m.size, ClientIP: m.clientIP,
		Dropped: m.dropped, Start: m.start, End: m.end, LastSeen: m.lastSeen, Reason: why,
		To: make([]string, 0, len(m.rcpts)), Recipients: make([]Recipient, 0, len(m.rcpts)),
	}
	ok, bad, open := 0, 0, m.dropped
	for _, r := range m.rcpts {
		if r.address != "" {
			s.To = append(s.To, r.address)
		}
		switch r.state {
		case succeeded:
			ok++
		case failed:
			bad++
		case delayed:
			open++
		case pending:
			if why == Completed {
				continue // an alias that expanded to the recipients listed
			}
			open++
		}
		result := r.result
		if r.state == pending {
			result = "pending"
		}
		s.Recipients = append(s.Recipients, Recipient{Address: r.address, Result: result, Status: r.status,
			DestinationIP: r.destIP, Destination: r.destName})
	}
	switch {
	case open == 0 && bad == 0 && ok > 0:
		s.Outcome = "success"
	case open == 0 && ok == 0 && bad > 0:
		s.Outcome = "failure"
	default:
		s.Outcome = "unknown"
	}
	return s
}

// removeOldest removes the first-seen message and summarises it, or drops it
// as an orphan when its Recv line never came.
func (t *Tracker) removeOldest(why Reason) (Summary, bool) {
	m := t.head
	t.remove(m)
	if why == Evicted {
		t.stats.Evicted++
	}
	if !m.hasRecv {
		t.stats.Orphaned++
		return Summary{}, false
	}
	if why == TimedOut {
		t.stats.TimedOut++
	}
	return t.summary(m, why), true
}

func (t *Tracker) pushBack(m *message) {
	m.prev = t.tail
	if t.tail != nil {
		t.tail.next = m
	} else {
		t.head = m
	}
	t.tail = m
}

func (t *Tracker) remove(m *message) {
	delete(t.open, m.key)
	if m.prev != nil {
		m.prev.next = m.next
	} else {
		t.head = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		t.tail = m.prev
	}
	m.prev, m.next = nil, nil
}

// intern returns a stored copy of an observer name, so that the few mail
// servers' names are not copied for every message. Bounded: past 1024
// names it just copies.
func (t *Tracker) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := t.observers[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if len(t.observers) < 1024 {
		t.observers[v] = v
	}
	return v
}

// classify maps Kerio's Result to a delivery state, as the parser maps it to
// event.outcome: anything it does not know (delayed, or a new word) is not final.
func classify(result string) state {
	switch result {
	case "delivered", "relayed", "forwarded":
		return succeeded
	case "failed", "bounced", "rejected", "discarded":
		return failed
	}
	return delayed
}

// internResult returns a constant for the known results, a copy otherwise.
func internResult(r string) string {
	for _, k := range [...]string{"delivered", "relayed", "forwarded", "failed", "bounced", "rejected", "discarded", "delayed"} {
		if r == k {
			return k
		}
	}
	return strings.Clone(r)
}

// cloneIfChanged returns old when it equals v (no copy), else a copy of v.
func cloneIfChanged(old, v string) string {
	if old == v {
		return old
	}
	return strings.Clone(v)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
