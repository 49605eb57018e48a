package pipeline

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"sync/atomic"
)

// Event ids.
//
// Every accepted event gets an id (Event.ID) that names where and when it
// was received, never what it says: two identical lines are two events with
// two ids, and a retry, a disk-buffer replay, a re-read file line or a
// redelivered Kafka record keeps its id. Sinks use it as the Elasticsearch
// _id, the document's event.id and the event.id Kafka record header.
//
//	event.id = scope "." position
//	scope    = 20 characters of unpadded base64url: the first 120 bits of a
//	           SHA-256 over the stream the event came from
//	position = decimal: where in that stream the event was
//
// A stream and its position are, per source kind:
//
//	TCP, TLS, RELP  session, source name, connection number   frame ordinal in the connection (from 0)
//	UDP             session, source name, reader number       datagram sequence of the reader (from 0)
//	file            source name, the file's identity          byte offset of the line
//	Kafka           source name, topic, partition             offset "." record timestamp (ms)
//	internal        session, source name                      sequence of the source (from 0)
//
// The session (see NewSession) is random per process start, so that two
// processes, or one process before and after a restart, never mint the same
// id for a network stream. File and Kafka scopes leave it out: what they
// read can be read again after a restart, and must get the same id. A Kafka
// record that carries an event.id header (an upstream siemfwd wrote it)
// keeps that id instead.
//
// An id is at most 20+1+20+1+20 = 62 bytes, well within the 512 bytes of an
// Elasticsearch _id, and made of [A-Za-z0-9_.-] only. Ids of one stream share
// their first 21 bytes, which Lucene's terms dictionary stores once.

// IDHeader is the name of the Kafka record header that carries event.id.
const IDHeader = "event.id"

// scopeLen is the length of an id's scope: 120 bits in unpadded base64url.
const scopeLen = 20

// maxIDLen bounds the length of an id this package mints; an adopted id
// (from an upstream siemfwd) longer than it is not believed.
const maxIDLen = 512

// A Session is random per process start (or per source start): the part of
// the ids of network streams that keeps processes apart. Draw one with
// NewSession when a source is built and use it for all its streams.
type Session [16]byte

// NewSession draws a random session.
func NewSession() Session {
	var s Session
	_, _ = rand.Read(s[:]) // never fails (crypto/rand since Go 1.24)
	return s
}

// IDScope is the common part of the ids of one stream (a connection, a UDP
// reader, a file, a Kafka partition). Make one per stream, when the stream
// starts, then call Append or ID per event: that is a few byte appends and
// no hashing. The zero IDScope is not valid.
type IDScope struct {
	prefix string // scope and "."
}

// Stream kinds, the first byte hashed into a scope, so that streams of
// different kinds never share a scope.
const (
	kindConnection byte = 'c'
	kindReader     byte = 'r'
	kindFile       byte = 'f'
	kindKafka      byte = 'k'
	kindInternal   byte = 'i'
)

// ConnectionScope is the scope of the events of one TCP, TLS or RELP
// connection: conn numbers the connections of the source in this session
// (a counter that the source keeps). The position is the frame's ordinal
// in the connection.
func ConnectionScope(s Session, source string, conn uint64) IDScope {
	return newScope(kindConnection, s[:], source, nil, conn)
}

// ReaderScope is the scope of the events of one UDP reader (a socket read
// by one goroutine) in this session; the position is a sequence the reader
// keeps over the datagrams it accepted.
func ReaderScope(s Session, source string, reader uint64) IDScope {
	return newScope(kindReader, s[:], source, nil, reader)
}

// internalScope is the scope of the events a siemfwd component makes itself
// (alerts, summaries) in this session; the position is its own sequence.
func internalScope(s Session, source string) IDScope {
	return newScope(kindInternal, s[:], source, nil, 0)
}

// FileScope is the scope of the lines of one file, whatever its path: file
// is the identity the file source gives it (it survives renames and
// restarts, and changes when the file is truncated or replaced). The
// position is the line's byte offset. It does not depend on the session: a
// re-read after a restart yields the same ids.
func FileScope(source, file string) IDScope {
	return newScope(kindFile, nil, source, []byte(file), 0)
}

// KafkaScope is the scope of the records of one topic partition; the
// position is the offset and the record's timestamp (AppendKafka). It does
// not depend on the session: a redelivery yields the same ids.
func KafkaScope(source, topic string, partition int32) IDScope {
	return newScope(kindKafka, nil, source, []byte(topic), uint64(uint32(partition)))
}

// newScope hashes the kind, the session (nil for durable streams), the
// length-prefixed source name and identity, and the stream number.
func newScope(kind byte, session []byte, source string, identity []byte, n uint64) IDScope {
	b := make([]byte, 0, 1+len(session)+8+len(source)+8+len(identity)+8)
	b = append(b, kind)
	b = append(b, session...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(source)))
	b = append(b, source...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(identity)))
	b = append(b, identity...)
	b = binary.LittleEndian.AppendUint64(b, n)
	sum := sha256.Sum256(b)
	p := make([]byte, 0, scopeLen+1)
	p = base64.RawURLEncoding.AppendEncode(p, sum[:scopeLen*6/8])
	return IDScope{prefix: string(append(p, '.'))}
}

// Append appends the id of the event at pos in the stream to dst.
func (s IDScope) Append(dst []byte, pos uint64) []byte {
	return strconv.AppendUint(append(dst, s.prefix...), pos, 10)
}

// ID returns the id of the event at pos in the stream. Sources that mint
// many ids at once can Append them into one buffer and cut the strings
// from one conversion instead (see IDBuffer).
func (s IDScope) ID(pos uint64) string {
	var buf [64]byte
	return string(s.Append(buf[:0], pos))
}

// Counter returns an IDCounter whose first id is the one at pos.
func (s IDScope) Counter(pos uint64) IDCounter {
	return IDCounter{next: s.Append(nil, pos)}
}

// IDCounter mints the ids of a stream whose positions go up by one (the
// frames of a connection, the datagrams of a UDP reader). It keeps the next
// id as text and counts its decimal digits up in place, which costs a few
// instructions per id where formatting the position costs a hundred and more.
// The zero IDCounter is not valid; make one with IDScope.Counter.
type IDCounter struct {
	next []byte // the next id: the scope's prefix, then the position's digits
}

// appendNext appends the next id to dst and moves on to the one after.
func (c *IDCounter) appendNext(dst []byte) []byte {
	dst = append(dst, c.next...)
	for i := len(c.next) - 1; ; i-- {
		if d := c.next[i]; d != '9' {
			c.next[i] = d + 1
			return dst
		}
		c.next[i] = '0'
		if c.next[i-1] == '.' { // all nines: one digit more, "999" -> "1000"
			c.next = append(c.next[:i+1], c.next[i:]...)
			c.next[i] = '1'
			return dst
		}
	}
}

// AppendKafka appends the id of a Kafka record: its offset and timestamp in
// milliseconds. The timestamp tells a record from the one at the same
// offset of a topic deleted and created again.
func (s IDScope) AppendKafka(dst []byte, offset, millis int64) []byte {
	dst = s.Append(dst, uint64(offset))
	dst = append(dst, '.')
	return strconv.AppendInt(dst, millis, 10)
}

// IDSequence mints the ids of a source that makes its events itself
// (alerts, summaries): its internal scope in a new session, and a counter.
// It is safe for concurrent use.
type IDSequence struct {
	scope IDScope
	next  atomic.Uint64
}

// NewIDSequence starts the ids of the internal source named source.
func NewIDSequence(source string) *IDSequence {
	return &IDSequence{scope: internalScope(NewSession(), source)}
}

// Next returns the next id.
func (q *IDSequence) Next() string { return q.scope.ID(q.next.Add(1) - 1) }

// IDBuffer mints the ids of a batch of events with one string allocation
// for the whole batch instead of one per event: Add appends each event's id
// (and remembers which event), Assign sets Event.ID on all of them. The
// zero IDBuffer is ready; reuse it batch after batch.
type IDBuffer struct {
	buf  []byte
	ends []int
}

// Add appends the id of the event at pos of scope; the next Assign gives
// it to the event at the same index among the events added since the last
// Assign.
func (b *IDBuffer) Add(scope IDScope, pos uint64) {
	b.buf = scope.Append(b.buf, pos)
	b.ends = append(b.ends, len(b.buf))
}

// AddNext appends the next id of c, as Add does with its scope and position.
func (b *IDBuffer) AddNext(c *IDCounter) {
	b.buf = c.appendNext(b.buf)
	b.ends = append(b.ends, len(b.buf))
}

// Len is the number of ids added since the last Assign.
func (b *IDBuffer) Len() int { return len(b.ends) }

// Assign sets the ID of events[i] to the i-th id added, and empties the
// buffer. events must hold exactly Len events.
func (b *IDBuffer) Assign(events []Event) {
	all := string(b.buf)
	start := 0
	for i, end := range b.ends {
		events[i].ID = all[start:end]
		start = end
	}
	b.buf, b.ends = b.buf[:0], b.ends[:0]
}

// ValidID reports whether id may be adopted from outside (a Kafka header
// written by an upstream siemfwd): not empty, not longer than maxIDLen, and
// made of the bytes an id this package mints is made of, so that it is a
// valid Elasticsearch _id and safe in a URL, a header and a log line.
func ValidID(id []byte) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for _, c := range id {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
