package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// recordVersion is the first byte of every disk-buffer record. A buffer
// written by a newer siemfwd is refused record by record (and counted), never
// misread. Older records are still read: version 1 stored the raw message
// always whole; versions 1 and 2 were written before event ids, so their
// events get the id that siemfwd gave them then (see legacyID). Version 3
// has the layout of version 2, and its ID is the event's id.
const recordVersion = 3

// appendRecord encodes what a sink needs of ev after a restart: the encoded
// document, the raw message (event.original, document ids), the receive
// time, the file offset, the sender and the routing fields. The Origin's
// parse settings are not stored: the event is already parsed.
//
//	record = version varint(received ns) varint(offset) flags bytes(peer)
//	         13 × bytes(string) uvarint(categories) categories × bytes(string)
//	         raw bytes(json)
//	raw    = 0x00 bytes(raw) | uvarint(at+1) uvarint(len)   (the second: json[at:at+len])
//	bytes  = uvarint(length) the bytes
//
// The raw message is nearly always inside the document verbatim (it is
// event.original, and the whole document of a passed-through event), so it
// is usually stored as where it is there: ~10 % less to write.
func appendRecord(dst []byte, ev *Event) []byte {
	dst = append(dst, recordVersion)
	dst = binary.AppendVarint(dst, ev.Received.UnixNano())
	dst = binary.AppendVarint(dst, ev.Offset)
	dst = append(dst, byte(ev.Flags))
	// The length of AddrPort.MarshalBinary, without its allocation.
	dst = binary.AppendUvarint(dst, uint64(ev.Peer.Addr().BitLen()/8+len(ev.Peer.Addr().Zone())+2))
	dst, _ = ev.Peer.AppendBinary(dst)
	o := ev.Origin
	for _, s := range []string{o.Source, o.Transport, o.FilePath, o.Product, o.Log, o.Profile, ev.ID,
		ev.Routes.Dataset, ev.Routes.Kind, ev.Routes.Hostname, ev.Routes.SourceIP, ev.Routes.Module, ev.Routes.Namespace} {
		dst = appendBytes(dst, []byte(s))
	}
	dst = binary.AppendUvarint(dst, uint64(len(ev.Routes.Categories)))
	for _, c := range ev.Routes.Categories {
		dst = appendBytes(dst, []byte(c))
	}
	if at := bytes.Index(ev.JSON, ev.Raw); at >= 0 && len(ev.Raw) > 0 {
		dst = binary.AppendUvarint(dst, uint64(at)+1)
		dst = binary.AppendUvarint(dst, uint64(len(ev.Raw)))
	} else {
		dst = append(dst, 0)
		dst = appendBytes(dst, ev.Raw)
	}
	return appendBytes(dst, ev.JSON)
}

// recordBound is at least the size of ev's record: every field at its
// length with the longest length prefix.
func recordBound(ev *Event) int {
	const prefix = binary.MaxVarintLen64
	o, r := ev.Origin, &ev.Routes
	n := 1 + 2*prefix + 1 + prefix + 18 + len(ev.Peer.Addr().Zone()) // version, times, flags, peer
	for _, s := range []string{o.Source, o.Transport, o.FilePath, o.Product, o.Log, o.Profile, ev.ID,
		r.Dataset, r.Kind, r.Hostname, r.SourceIP, r.Module, r.Namespace} {
		n += prefix + len(s)
	}
	n += prefix
	for _, c := range r.Categories {
		n += prefix + len(c)
	}
	return n + 1 + 2*prefix + len(ev.Raw) + len(ev.JSON)
}

// legacyID is the Elasticsearch _id that siemfwd gave an event before
// event ids, when a source had set none: 128 bits of SHA-256 over the
// length-prefixed raw bytes and source name, then the file path and offset
// (file sources) or the receive time, in unpadded base64url. A record of
// that time replayed now keeps it, so that a document the older siemfwd
// already stored answers 409 instead of being indexed twice.
func legacyID(ev *Event) string {
	source, path := ev.Origin.Source, ev.Origin.FilePath
	b := make([]byte, 0, 3*8+1+len(ev.Raw)+len(source)+len(path)+8)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(ev.Raw)))
	b = append(b, ev.Raw...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(source)))
	b = append(b, source...)
	if path != "" {
		b = append(b, 'f')
		b = binary.LittleEndian.AppendUint64(b, uint64(len(path)))
		b = append(b, path...)
		b = binary.LittleEndian.AppendUint64(b, uint64(ev.Offset))
	} else {
		b = append(b, 't')
		b = binary.LittleEndian.AppendUint64(b, uint64(ev.Received.UnixNano()))
	}
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

var errBadRecord = errors.New("malformed disk-buffer record")

// recordReader reads the fields of one record in order, remembering the first error.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) bytes() []byte {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || uint64(len(r.b)-k) < n {
		r.err = errBadRecord
		return nil
	}
	v := r.b[k : k+int(n) : k+int(n)]
	r.b = r.b[k+int(n):]
	return v
}

func (r *recordReader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = errBadRecord
		return 0
	}
	r.b = r.b[k:]
	return v
}

// varint reads a zig-zag varint, as binary.AppendVarint writes it.
func (r *recordReader) varint() int64 {
	u := r.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (r *recordReader) byte() byte {
	if len(r.b) == 0 {
		r.err = errBadRecord
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// textFields is the number of string fields before the categories: the
// Origin's six, the ID and the six single-valued Routes.
const textFields = 13

// origins hands out one Origin per distinct source fields, so that decoded
// events from one file share it as they did before.
type origins struct {
	last *Origin
	m    map[[6]string]*Origin
}

func (c *origins) get(key [6]string) *Origin {
	if o := c.last; o != nil && [6]string{o.Source, o.Transport, o.FilePath, o.Product, o.Log, o.Profile} == key {
		return o
	}
	o, ok := c.m[key]
	if !ok {
		o = &Origin{Source: key[0], Transport: key[1], FilePath: key[2], Product: key[3], Log: key[4], Profile: key[5],
			Location: time.UTC}
		if c.m == nil {
			c.m = map[[6]string]*Origin{}
		}
		c.m[key] = o
	}
	c.last = o
	return o
}

// decodeRecord rebuilds into ev, which must be zero, an event from
// appendRecord's bytes. The event's Raw and JSON alias rec; its strings
// share one allocation (they are contiguous in the record).
func decodeRecord(rec []byte, ev *Event, orig *origins) error {
	r := recordReader{b: rec}
	version := r.byte()
	if version < 1 || version > recordVersion {
		return fmt.Errorf("%w: version %d", errBadRecord, version)
	}
	ev.Received = time.Unix(0, r.varint())
	ev.Offset = r.varint()
	ev.Flags = Flags(r.byte())
	if peer := r.bytes(); len(peer) > 0 && r.err == nil {
		if err := ev.Peer.UnmarshalBinary(peer); err != nil {
			return fmt.Errorf("%w: peer: %v", errBadRecord, err)
		}
	}
	// Where each string field is, as offsets into rec.
	span := len(rec) - len(r.b)
	var fields [textFields][2]int
	for i := range fields {
		v := r.bytes()
		end := len(rec) - len(r.b)
		fields[i] = [2]int{end - len(v), end}
	}
	n, k := binary.Uvarint(r.b)
	if r.err != nil || k <= 0 || n > uint64(len(r.b)) {
		return errBadRecord
	}
	r.b = r.b[k:]
	var catBuf [4][2]int
	cats := catBuf[:0]
	for range n {
		v := r.bytes()
		end := len(rec) - len(r.b)
		cats = append(cats, [2]int{end - len(v), end})
	}
	spanEnd := len(rec) - len(r.b)
	var rawAt, rawLen uint64 // rawAt > 0: the raw message is json[rawAt-1:][:rawLen]
	if version == 1 {
		ev.Raw = r.bytes()
	} else if rawAt = r.uvarint(); rawAt == 0 {
		ev.Raw = r.bytes()
	} else {
		rawLen = r.uvarint()
	}
	ev.JSON = r.bytes()
	if r.err != nil {
		return r.err
	}
	if rawAt > 0 {
		at := rawAt - 1
		if at > uint64(len(ev.JSON)) || rawLen > uint64(len(ev.JSON))-at {
			return fmt.Errorf("%w: raw message outside the document", errBadRecord)
		}
		ev.Raw = ev.JSON[at : at+rawLen : at+rawLen]
	}
	text := string(rec[span:spanEnd])
	str := func(f [2]int) string { return text[f[0]-span : f[1]-span] }
	ev.Origin = orig.get([6]string{str(fields[0]), str(fields[1]), str(fields[2]), str(fields[3]), str(fields[4]), str(fields[5])})
	ev.ID = str(fields[6])
	if version < 3 {
		if ev.ID == "" {
			ev.ID = legacyID(ev)
		}
		ev.Flags |= FlagLegacyID
	}
	rt := &ev.Routes
	rt.Dataset, rt.Kind, rt.Hostname = str(fields[7]), str(fields[8]), str(fields[9])
	rt.SourceIP, rt.Module, rt.Namespace = str(fields[10]), str(fields[11]), str(fields[12])
	if len(cats) > 0 {
		rt.Categories = make([]string, len(cats))
		for i, c := range cats {
			rt.Categories[i] = str(c)
		}
	}
	return nil
}
