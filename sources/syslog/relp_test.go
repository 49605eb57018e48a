package syslog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// relpClient speaks the client side of RELP as librelp does.
type relpClient struct {
	t    *testing.T
	conn net.Conn
	rr   *relpReader
	txnr int
}

// librelpOpen is the offer rsyslog's omrelp sends (librelp 1.11).
const librelpOpen = "relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog"

func dialRELP(t *testing.T, h *harness) *relpClient {
	t.Helper()
	return newRELPClient(t, h.dial(t))
}

func newRELPClient(t *testing.T, conn net.Conn) *relpClient {
	t.Helper()
	c := &relpClient{t: t, conn: conn}
	require.NoError(t, c.conn.SetDeadline(time.Now().Add(patience)))
	c.rr = newRELPReader(bufio.NewReader(c.conn), 1<<16)
	return c
}

func (c *relpClient) send(cmd, data string) int {
	c.t.Helper()
	c.txnr++
	_, err := c.conn.Write(appendRELPFrame(nil, c.txnr, cmd, data))
	require.NoError(c.t, err)
	return c.txnr
}

// read returns the next frame the server sends as "txnr cmd data".
func (c *relpClient) read() string {
	c.t.Helper()
	f, err := c.rr.next(nil)
	require.NoError(c.t, err)
	return strconv.Itoa(f.txnr) + " " + string(f.cmd) + " " + string(f.data)
}

func relpConfig() Config {
	cfg := DefaultConfig()
	cfg.Protocol = ProtocolRELP
	return cfg
}

// batch waits for the next batch the source sends.
func (h *harness) batch(t *testing.T) pipeline.Batch {
	t.Helper()
	select {
	case b := <-h.out:
		return b
	case <-time.After(patience):
		t.Fatal("no batch")
		return pipeline.Batch{}
	}
}

// TestRELPSession runs a session as omrelp does and checks that every
// message is answered with the outcome of its batch's Ack, so never before
// the pipeline has it: a failed Ack is answered 500 (the sender sends the
// message again), a successful one 200.
func TestRELPSession(t *testing.T) {
	h := start(t, relpConfig(), 16)
	c := dialRELP(t, h)
	c.send("open", librelpOpen)
	require.Equal(t, "1 rsp "+relpOffers, c.read())

	c.send("syslog", "<13>1 - h app - - - one")
	c.send("syslog", "<13>1 - h app - - - two")
	var evs []*pipeline.Event
	var acks []func(error)
	for len(evs) < 2 {
		b := h.batch(t)
		require.NotNil(t, b.Ack)
		evs = append(evs, b.Events...)
		acks = append(acks, b.Ack)
	}
	require.Equal(t, []string{"<13>1 - h app - - - one", "<13>1 - h app - - - two"}, raws(evs))
	require.Equal(t, "relp", evs[0].Origin.Transport)
	for _, ack := range acks {
		ack(errors.New("sink down"))
	}
	require.Equal(t, "2 rsp 500 not delivered, send again", c.read())
	require.Equal(t, "3 rsp 500 not delivered, send again", c.read())

	c.send("syslog", "<13>1 - h app - - - again")
	b := h.batch(t)
	require.Equal(t, []string{"<13>1 - h app - - - again"}, raws(b.Events))
	b.Ack(nil)
	require.Equal(t, "4 rsp 200 OK", c.read())

	c.send("syslog", "<13>1 - h app - - - dropped by policy")
	h.batch(t).Ack(pipeline.ErrDropped)
	require.Equal(t, "5 rsp 200 OK", c.read())

	c.send("close", "")
	require.Equal(t, "6 rsp ", c.read())
	_, err := c.rr.next(nil)
	require.ErrorIs(t, err, io.EOF, "the server closes after answering close")
	h.stop()
	require.Equal(t, 4.0, value(t, h.m.SourceReceived.WithLabelValues("test")))
}

// TestRELPOverTLS runs a session inside mutual TLS: tls.cert_file turns
// TLS on for protocol relp, and the client certificate reaches the events.
func TestRELPOverTLS(t *testing.T) {
	p := newPKI(t)
	cfg := p.config(ClientAuthRequire)
	cfg.Protocol = ProtocolRELP
	h := start(t, cfg, 16)
	c := newRELPClient(t, dialTLS(t, h.src.Addr().String(), p.clientConfig(&p.client)))
	c.send("open", librelpOpen)
	require.Equal(t, "1 rsp "+relpOffers, c.read())
	c.send("syslog", "<13>1 - h app - - - over tls")
	b := h.batch(t)
	require.Equal(t, []string{"<13>1 - h app - - - over tls"}, raws(b.Events))
	require.Equal(t, "relp", b.Events[0].Origin.Transport)
	require.NotNil(t, b.Events[0].Origin.TLS)
	require.Equal(t, "mx01.contoso.example", b.Events[0].Origin.TLS.CommonName)
	b.Ack(nil)
	require.Equal(t, "2 rsp 200 OK", c.read())
}

// TestRELPStopWaitsForAcks checks that a stopping source answers what the
// pipeline acknowledges within drain_timeout, then hints serverclose.
func TestRELPStopWaitsForAcks(t *testing.T) {
	h := start(t, relpConfig(), 16)
	c := dialRELP(t, h)
	c.send("open", librelpOpen)
	c.read()
	c.send("syslog", "<13>1 - h app - - - in flight")
	b := h.batch(t)
	stopped := make(chan struct{})
	go func() {
		h.stop()
		close(stopped)
	}()
	b.Ack(nil)
	require.Equal(t, "2 rsp 200 OK", c.read())
	require.Equal(t, "0 serverclose ", c.read())
	<-stopped
}

// TestRELPBadFrames checks that a session that breaks the syntax is closed
// and counted, and that commands siemfwd does not serve are refused.
func TestRELPBadFrames(t *testing.T) {
	h := start(t, relpConfig(), 16)
	c := dialRELP(t, h)
	c.send("open", librelpOpen)
	c.read()
	c.send("starttls", "")
	require.Equal(t, "2 rsp 500 command not supported", c.read())
	_, err := c.conn.Write([]byte("3 syslog 5 <13>abc\n"))
	require.NoError(t, err)
	_, err = c.rr.next(nil)
	require.ErrorIs(t, err, io.EOF)
	h.stop()
	require.Equal(t, 1.0, value(t, h.m.ParseFailures.WithLabelValues("test", metrics.ReasonBadFrame)))
}

func TestRELPReader(t *testing.T) {
	for _, tt := range []struct {
		name, input string
		want        []string // "txnr cmd data"
		err         error
	}{
		{name: "frames", input: "1 open 3 abc\n2 syslog 2 ab\n3 close 0\n", want: []string{"1 open abc", "2 syslog ab", "3 close "}},
		{name: "data holds LF", input: "7 syslog 3 a\nb\n", want: []string{"7 syslog a\nb"}},
		{name: "truncated", input: "1 syslog 10 0123456789\n2 syslog 1 x\n", want: []string{"1 syslog 01234567", "2 syslog x"}},
		{name: "eof between frames", input: "", err: io.EOF},
		{name: "eof inside", input: "1 syslog 5 ab", err: io.ErrUnexpectedEOF},
		{name: "no trailer", input: "1 syslog 2 abc\n", err: errRELPFrame},
		{name: "txnr too long", input: "1234567890 syslog 0\n", err: errRELPFrame},
		{name: "command with digit", input: "1 sys1og 0\n", err: errRELPFrame},
		{name: "command too long", input: "1 " + string(bytes.Repeat([]byte("a"), 33)) + " 0\n", err: errRELPFrame},
		{name: "empty data with space", input: "1 close 0 \n", err: errRELPFrame},
		{name: "garbage", input: "<13>hello\n", err: errRELPFrame},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rr := newRELPReader(bufio.NewReaderSize(bytes.NewReader([]byte(tt.input)), 16), 8)
			var got []string
			for {
				f, err := rr.next(nil)
				if err != nil {
					if tt.err == nil {
						require.ErrorIs(t, err, io.EOF)
					} else {
						require.ErrorIs(t, err, tt.err)
					}
					break
				}
				require.Equal(t, len(f.data) == 8 && tt.name == "truncated" && f.txnr == 1, f.truncated)
				got = append(got, strconv.Itoa(f.txnr)+" "+string(f.cmd)+" "+string(f.data))
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// FuzzRELPReader checks the RELP framer on any input: no panic, no data
// longer than the maximum, never more data than input, and frames written
// by appendRELPFrame read back unchanged.
func FuzzRELPReader(f *testing.F) {
	for _, s := range []string{
		"1 open 3 abc\n2 syslog 2 ab\n3 close 0\n", "1 syslog 10 0123456789\n", "1234567890 x 0\n", "1 a 0 \n", "",
		"0 serverclose 0\n", "1 rsp 6 200 OK\n",
	} {
		f.Add([]byte(s), uint16(8))
	}
	f.Fuzz(func(t *testing.T, data []byte, maxRaw uint16) {
		maxData := int(maxRaw%512) + 1
		rr := newRELPReader(bufio.NewReaderSize(bytes.NewReader(data), 16), maxData)
		total := 0
		for range len(data) + 1 {
			f, err := rr.next(nil)
			if err != nil {
				break
			}
			if len(f.data) > maxData || len(f.cmd) == 0 || len(f.cmd) > relpMaxCommand {
				t.Fatalf("frame %+v, max %d", f, maxData)
			}
			total += len(f.data)
		}
		if total > len(data) {
			t.Fatalf("%d data bytes from %d input bytes", total, len(data))
		}

		// Round trip: each 0xff-separated piece as the data of a frame.
		var enc []byte
		var msgs [][]byte
		for m := range bytes.SplitSeq(data, []byte{0xff}) {
			if len(m) <= maxData {
				msgs = append(msgs, m)
				enc = appendRELPFrame(enc, len(msgs), "syslog", string(m))
			}
		}
		rr = newRELPReader(bufio.NewReaderSize(bytes.NewReader(enc), 16), maxData)
		for i, m := range msgs {
			f, err := rr.next(nil)
			if err != nil || f.txnr != i+1 || string(f.cmd) != "syslog" || !bytes.Equal(f.data, m) || f.truncated {
				t.Fatalf("frame %d: %+v %v, want %q", i, f, err, m)
			}
		}
		if _, err := rr.next(nil); err != io.EOF {
			t.Fatalf("after the last frame: %v, want EOF", err)
		}
	})
}
