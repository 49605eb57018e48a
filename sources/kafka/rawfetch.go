package kafka

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/fetch"
)

// rawFetch is a Fetch request of one partition whose response the source
// reads itself. kafka-go's transport still picks the partition leader's
// connection (Broker) and negotiates versions, then hands the connection
// over (protocol.RawExchanger); the record set is kept as bytes for
// kafkabatch instead of being decoded by kafka-go record by record and
// header by header, which cost more than the rest of the source.
//
// The response buffer is reused by the next request, so a rawFetch must not
// be sent again after a round trip that failed: the connection's goroutine
// may still be writing to it.
type rawFetch struct {
	req      fetch.Request
	clientID string
	version  int16
	id       int32  // correlation id
	buf      []byte // the response
	res      fetchResult
}

// fetchResult is the response of a rawFetch.
type fetchResult struct {
	err     error  // the partition's error
	records []byte // the record set; aliases the rawFetch's buffer
}

func (*fetchResult) ApiKey() protocol.ApiKey { return protocol.Fetch }

// Fetch versions read here: Kafka 4 answers v4 and later; v12 and later
// are the flexible encoding, which kafka-go does not speak either.
const (
	minFetchVersion = 4
	maxFetchVersion = 11
)

// maxFetchResponse bounds the response size read from a broker, so a
// garbled size cannot make the source allocate gigabytes.
const maxFetchResponse = 1 << 30

func (r *rawFetch) ApiKey() protocol.ApiKey { return protocol.Fetch }

// Broker routes the request to the partition's leader.
func (r *rawFetch) Broker(c protocol.Cluster) (protocol.Broker, error) { return r.req.Broker(c) }

// Required is always true (the response is always read raw); it notes the
// version the connection negotiated.
func (r *rawFetch) Required(versions map[protocol.ApiKey]int16) bool {
	r.version = min(versions[protocol.Fetch], maxFetchVersion)
	return true
}

// RawExchange writes the request to the broker's connection and reads the
// response.
func (r *rawFetch) RawExchange(rw io.ReadWriter) (protocol.Message, error) {
	if r.version < minFetchVersion {
		return nil, fmt.Errorf("the broker answers Fetch v%d at most; v%d is needed", r.version, minFetchVersion)
	}
	r.id++
	if err := protocol.WriteRequest(rw, r.version, r.id, r.clientID, &r.req); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(rw, size[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(size[:]))
	if n < 4 || n > maxFetchResponse {
		return nil, fmt.Errorf("fetch response of %d bytes", n)
	}
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(rw, r.buf); err != nil {
		return nil, err
	}
	if err := r.parse(); err != nil {
		return nil, err
	}
	return &r.res, nil
}

// errShortResponse is a fetch response that ends before its fields do.
var errShortResponse = errors.New("fetch response cut short")

// parse reads the response in r.buf into r.res.
func (r *rawFetch) parse() error {
	p := parser{b: r.buf}
	if id := p.int32(); id != r.id {
		return fmt.Errorf("fetch response: correlation id %d, expected %d", id, r.id)
	}
	p.skip(4) // throttle time
	if r.version >= 7 {
		code := p.int16()
		p.skip(4) // session id
		if code != 0 && p.err == nil {
			r.res = fetchResult{err: kafkago.Error(code)}
			return nil
		}
	}
	want := r.req.Topics[0]
	r.res = fetchResult{err: kafkago.UnknownTopicOrPartition}
	for topics := p.array(); topics > 0 && p.err == nil; topics-- {
		topic := p.bytes16()
		for parts := p.array(); parts > 0 && p.err == nil; parts-- {
			id, code := p.int32(), p.int16()
			p.skip(8 + 8) // high watermark, last stable offset
			if r.version >= 5 {
				p.skip(8) // log start offset
			}
			if n := p.array(); n > 0 {
				p.skip(16 * n) // aborted transactions: none at read_uncommitted
			}
			if r.version >= 11 {
				p.skip(4) // preferred read replica
			}
			records := p.bytes32()
			if string(topic) == want.Topic && id == want.Partitions[0].Partition {
				r.res = fetchResult{records: records}
				if code != 0 {
					r.res.err = kafkago.Error(code)
				}
			}
		}
	}
	return p.err
}

// parser reads big-endian fields; past the end it returns zeros and sets err.
type parser struct {
	b   []byte
	err error
}

func (p *parser) take(n int) []byte {
	if n < 0 || n > len(p.b) {
		p.err, p.b = errShortResponse, nil
		return nil
	}
	v := p.b[:n:n]
	p.b = p.b[n:]
	return v
}

func (p *parser) skip(n int) { p.take(n) }

func (p *parser) int16() int16 {
	if b := p.take(2); b != nil {
		return int16(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (p *parser) int32() int32 {
	if b := p.take(4); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

// array reads an array's length; null is empty.
func (p *parser) array() int { return max(0, int(p.int32())) }

func (p *parser) bytes16() []byte { return p.take(max(0, int(p.int16()))) }

// bytes32 reads nullable bytes; null is nil.
func (p *parser) bytes32() []byte {
	n := p.int32()
	if n < 0 {
		return nil
	}
	return p.take(int(n))
}
