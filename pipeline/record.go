package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// recordVersion is the first byte of every disk-buffer record. A buffer
// written by a newer siemfwd is refused record by record (and counted), never
// misread.
const recordVersion = 1

// appendRecord encodes what a sink needs of ev after a restart: the encoded
// document, the raw message (event.original, document ids), the receive
// time, the file offset, the sender and the routing fields. The Origin's
// parse settings are not stored: the event is already parsed.
func appendRecord(dst []byte, ev *Event) []byte {
	dst = append(dst, recordVersion)
	dst = binary.AppendVarint(dst, ev.Received.UnixNano())
	dst = binary.AppendVarint(dst, ev.Offset)
	dst = append(dst, byte(ev.Flags))
	peer, _ := ev.Peer.MarshalBinary()
	dst = appendBytes(dst, peer)
	o := ev.Origin
	for _, s := range []string{o.Source, o.Transport, o.FilePath, o.Product, o.Log, o.Profile, ev.ID,
		ev.Routes.Dataset, ev.Routes.Kind, ev.Routes.Hostname, ev.Routes.SourceIP, ev.Routes.Module, ev.Routes.Namespace} {
		dst = appendBytes(dst, []byte(s))
	}
	dst = binary.AppendUvarint(dst, uint64(len(ev.Routes.Categories)))
	for _, c := range ev.Routes.Categories {
		dst = appendBytes(dst, []byte(c))
	}
	dst = appendBytes(dst, ev.Raw)
	return appendBytes(dst, ev.JSON)
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

func (r *recordReader) varint() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = errBadRecord
		return 0
	}
	r.b = r.b[k:]
	return v
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

// decodeRecord rebuilds an event from appendRecord's bytes. The event's Raw
// and JSON alias rec. origins caches one Origin per distinct source fields,
// so events from one file share it as they did before.
func decodeRecord(rec []byte, origins map[[6]string]*Origin) (*Event, error) {
	r := recordReader{b: rec}
	if v := r.byte(); v != recordVersion {
		return nil, fmt.Errorf("%w: version %d", errBadRecord, v)
	}
	ev := &Event{}
	ev.Received = time.Unix(0, r.varint())
	ev.Offset = r.varint()
	ev.Flags = Flags(r.byte())
	if peer := r.bytes(); len(peer) > 0 && r.err == nil {
		if err := ev.Peer.UnmarshalBinary(peer); err != nil {
			return nil, fmt.Errorf("%w: peer: %v", errBadRecord, err)
		}
	} else {
		ev.Peer = netip.AddrPort{}
	}
	var key [6]string
	for i := range key {
		key[i] = string(r.bytes())
	}
	ev.ID = string(r.bytes())
	ev.Routes.Dataset = string(r.bytes())
	ev.Routes.Kind = string(r.bytes())
	ev.Routes.Hostname = string(r.bytes())
	ev.Routes.SourceIP = string(r.bytes())
	ev.Routes.Module = string(r.bytes())
	ev.Routes.Namespace = string(r.bytes())
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)) {
		return nil, errBadRecord
	}
	r.b = r.b[k:]
	for range n {
		ev.Routes.Categories = append(ev.Routes.Categories, string(r.bytes()))
	}
	ev.Raw = r.bytes()
	ev.JSON = r.bytes()
	if r.err != nil {
		return nil, r.err
	}
	o, ok := origins[key]
	if !ok {
		o = &Origin{Source: key[0], Transport: key[1], FilePath: key[2], Product: key[3], Log: key[4], Profile: key[5],
			Location: time.UTC}
		origins[key] = o
	}
	ev.Origin = o
	return ev, nil
}
