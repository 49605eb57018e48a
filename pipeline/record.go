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
// has the layout of version 2, and its ID is the event's id. Version 4 adds
// the origin's settings after the document, so that an event an edge
// forwards raw after reading it back keeps its sender profile's zone,
// charset, format, dataset and observer (version 3 records come back in UTC
// with none). Version 5 ends the settings with the TLS session and client
// certificate of the event's connection, so that an edge forwarding a TLS
// event after reading it back still gives its indexers the tls.* fields
// (version 4 records come back without them).
const recordVersion = 5

// appendRecord encodes what a sink needs of ev after a restart: the encoded
// document, the raw message (event.original, document ids), the receive
// time, the file offset, the sender and the routing fields. The Origin's
// parse settings are not stored: the event is already parsed.
//
//	record   = version varint(received ns) varint(offset) flags bytes(peer)
//	           13 × bytes(string) uvarint(categories) categories × bytes(string)
//	           raw bytes(json) settings
//	raw      = 0x00 bytes(raw) | uvarint(at+1) uvarint(len)   (the second: json[at:at+len])
//	settings = format bytes(zone) bytes(charset) bytes(dataset) varint(clock skew ns)
//	           4 × bytes(observer) uvarint(labels) labels × (bytes(key) bytes(value)) tls
//	tls      = 0x00 | 0x01 9 × bytes(string) uvarint(names) names × bytes(name)
//	           varint(not before s) uvarint(ns) varint(not after s) uvarint(ns)   (from version 5)
//	bytes    = uvarint(length) the bytes
//
// The origin stored is the one the worker applied: the sender profile its
// syslog HOSTNAME matched, when one did (Routes.Hostname); the TLS session
// is always the connection's (ev.Origin.TLS), as the worker applies it.
//
// The raw message is nearly always inside the document verbatim (it is
// event.original, and the whole document of a passed-through event), so it
// is usually stored as where it is there: ~10 % less to write.
func appendRecord(dst []byte, ev *Event) []byte {
	o := appliedOrigin(ev)
	dst = append(dst, recordVersion)
	dst = binary.AppendVarint(dst, ev.Received.UnixNano())
	dst = binary.AppendVarint(dst, ev.Offset)
	dst = append(dst, byte(ev.Flags))
	// The length of AddrPort.MarshalBinary, without its allocation.
	dst = binary.AppendUvarint(dst, uint64(ev.Peer.Addr().BitLen()/8+len(ev.Peer.Addr().Zone())+2))
	dst, _ = ev.Peer.AppendBinary(dst)
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
	dst = appendBytes(dst, ev.JSON)
	return appendSettings(dst, o, ev.Origin.TLS)
}

// appliedOrigin is the origin whose settings apply to ev: the sender profile
// its syslog HOSTNAME matched, or its own.
func appliedOrigin(ev *Event) *Origin {
	o := ev.Origin
	if o.ByHostname != nil && ev.Routes.Hostname != "" {
		if byName := o.ByHostname(ev.Routes.Hostname); byName != nil {
			return byName
		}
	}
	return o
}

// appendSettings appends the settings part of a record: what of o the
// strings before do not hold, and the connection's TLS session t (nil for
// plain transports).
func appendSettings(dst []byte, o *Origin, t *TLSPeer) []byte {
	dst = append(dst, byte(o.Format))
	zone := ""
	if o.Location != nil {
		zone = o.Location.String()
	}
	for _, s := range []string{zone, o.Charset, o.Dataset} {
		dst = appendBytes(dst, []byte(s))
	}
	dst = binary.AppendVarint(dst, int64(o.ClockSkew))
	for _, s := range []string{o.Observer.Name, o.Observer.Vendor, o.Observer.Product, o.Observer.Type} {
		dst = appendBytes(dst, []byte(s))
	}
	dst = binary.AppendUvarint(dst, uint64(len(o.Labels)))
	for _, l := range o.Labels {
		dst = appendBytes(appendBytes(dst, []byte(l.Key)), []byte(l.Value))
	}
	return appendTLSPeer(dst, t)
}

// tlsStrings lists the string fields of t in record order.
func tlsStrings(t *TLSPeer) [9]string {
	return [9]string{t.Version, t.Cipher, t.ServerName, t.Subject, t.Issuer, t.CommonName, t.IssuerCommonName,
		t.SerialNumber, t.SHA256}
}

// appendTLSPeer appends the tls part of a record's settings.
func appendTLSPeer(dst []byte, t *TLSPeer) []byte {
	if t == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	for _, s := range tlsStrings(t) {
		dst = appendBytes(dst, []byte(s))
	}
	dst = binary.AppendUvarint(dst, uint64(len(t.AlternativeNames)))
	for _, n := range t.AlternativeNames {
		dst = appendBytes(dst, []byte(n))
	}
	for _, at := range []time.Time{t.NotBefore, t.NotAfter} {
		dst = binary.AppendVarint(dst, at.Unix())
		dst = binary.AppendUvarint(dst, uint64(at.Nanosecond()))
	}
	return dst
}

// tlsBound is at least the size of appendTLSPeer's output for t.
func tlsBound(t *TLSPeer) int {
	if t == nil {
		return 1
	}
	const prefix = binary.MaxVarintLen64
	n := 1 + 14*prefix
	for _, s := range tlsStrings(t) {
		n += len(s)
	}
	for _, name := range t.AlternativeNames {
		n += prefix + len(name)
	}
	return n
}

// settingsBound is at least the size of appendSettings' output for o.
func settingsBound(o *Origin) int {
	const prefix = binary.MaxVarintLen64
	n := 1 + 9*prefix + len(o.Charset) + len(o.Dataset) + len(o.Observer.Name) + len(o.Observer.Vendor) + len(o.Observer.Product) + len(o.Observer.Type)
	if o.Location != nil {
		n += len(o.Location.String())
	}
	for _, l := range o.Labels {
		n += 2*prefix + len(l.Key) + len(l.Value)
	}
	return n
}

// recordBound is at least the size of ev's record: every field at its
// length with the longest length prefix.
func recordBound(ev *Event) int {
	const prefix = binary.MaxVarintLen64
	o, r := appliedOrigin(ev), &ev.Routes
	n := 1 + 2*prefix + 1 + prefix + 18 + len(ev.Peer.Addr().Zone()) // version, times, flags, peer
	for _, s := range []string{o.Source, o.Transport, o.FilePath, o.Product, o.Log, o.Profile, ev.ID,
		r.Dataset, r.Kind, r.Hostname, r.SourceIP, r.Module, r.Namespace} {
		n += prefix + len(s)
	}
	n += prefix
	for _, c := range r.Categories {
		n += prefix + len(c)
	}
	return n + 1 + 2*prefix + len(ev.Raw) + len(ev.JSON) + settingsBound(o) + tlsBound(ev.Origin.TLS)
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

// tlsPeer reads the tls part of a record's settings: nil for a plain transport.
func (r *recordReader) tlsPeer() *TLSPeer {
	if r.byte() == 0 || r.err != nil {
		return nil
	}
	t := &TLSPeer{}
	for _, f := range []*string{&t.Version, &t.Cipher, &t.ServerName, &t.Subject, &t.Issuer, &t.CommonName,
		&t.IssuerCommonName, &t.SerialNumber, &t.SHA256} {
		*f = string(r.bytes())
	}
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = errBadRecord
		return nil
	}
	for range n {
		t.AlternativeNames = append(t.AlternativeNames, string(r.bytes()))
	}
	for _, at := range []*time.Time{&t.NotBefore, &t.NotAfter} {
		sec, ns := r.varint(), r.uvarint()
		if ns >= uint64(time.Second) {
			r.err = errBadRecord
		}
		*at = time.Unix(sec, int64(ns)).UTC()
	}
	return t
}

// textFields is the number of string fields before the categories: the
// Origin's six, the ID and the six single-valued Routes.
const textFields = 13

// origins hands out one Origin per distinct origin part of the records (the
// six strings and the settings), so that decoded events from one file or
// one sender profile share it as they did before.
type origins struct {
	key     []byte // scratch: the origin part of the record being decoded
	last    *Origin
	lastKey []byte
	m       map[string]*Origin
}

// maxDecodedOrigins bounds the cache; past it, it starts again empty.
const maxDecodedOrigins = 1024

// get returns the origin of the six strings and the settings (nil for
// records before version 4).
func (c *origins) get(strs [6]string, version byte, settings []byte) (*Origin, error) {
	c.key = append(c.key[:0], version)
	c.key = append(c.key, settings...)
	for _, s := range strs {
		c.key = binary.AppendUvarint(c.key, uint64(len(s)))
		c.key = append(c.key, s...)
	}
	if c.last != nil && bytes.Equal(c.key, c.lastKey) {
		return c.last, nil
	}
	o, ok := c.m[string(c.key)]
	if !ok {
		o = &Origin{Source: strs[0], Transport: strs[1], FilePath: strs[2], Product: strs[3], Log: strs[4], Profile: strs[5],
			Location: time.UTC}
		if settings != nil {
			if err := readSettings(settings, version, o); err != nil {
				return nil, err
			}
		}
		if c.m == nil || len(c.m) >= maxDecodedOrigins {
			c.m = map[string]*Origin{}
		}
		c.m[string(c.key)] = o
	}
	c.last, c.lastKey = o, append(c.lastKey[:0], c.key...)
	return o, nil
}

// readSettings sets o's fields from the settings part of a record of the
// version given. A zone this build does not know (another build wrote the
// record) leaves UTC, and a charset name it does not know decodes as UTF-8
// (the processor's lookup): the event is still delivered.
func readSettings(b []byte, version byte, o *Origin) error {
	r := recordReader{b: b}
	o.Format = Format(r.byte())
	zone, cs, dataset := string(r.bytes()), string(r.bytes()), string(r.bytes())
	o.Dataset, o.ClockSkew = dataset, time.Duration(r.varint())
	o.Observer = Observer{Name: string(r.bytes()), Vendor: string(r.bytes()), Product: string(r.bytes()), Type: string(r.bytes())}
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		return errBadRecord
	}
	for range n {
		o.Labels = append(o.Labels, Label{Key: string(r.bytes()), Value: string(r.bytes())})
	}
	if version >= 5 {
		o.TLS = r.tlsPeer()
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d bytes after the settings", errBadRecord, len(r.b))
	}
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		o.Location = loc
	}
	o.Charset = cs
	return nil
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
	var settings []byte // the rest of the record, from version 4 on
	if version >= 4 {
		settings = r.b
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
	o, err := orig.get([6]string{str(fields[0]), str(fields[1]), str(fields[2]), str(fields[3]), str(fields[4]), str(fields[5])}, version, settings)
	if err != nil {
		return err
	}
	ev.Origin = o
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
