package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// readFrames splits a TCP stream into messages according to framing.
func readFrames(t *testing.T, stream []byte, framing string) [][]byte {
	t.Helper()
	var out [][]byte
	r := bufio.NewReader(bytes.NewReader(stream))
	for {
		if framing == framingLF {
			line, err := r.ReadBytes('\n')
			if err == io.EOF {
				require.Empty(t, line, "unterminated last line")
				return out
			}
			require.NoError(t, err)
			out = append(out, line[:len(line)-1])
			continue
		}
		lenText, err := r.ReadString(' ')
		if err == io.EOF {
			require.Empty(t, lenText, "truncated frame")
			return out
		}
		require.NoError(t, err)
		l, err := strconv.Atoi(lenText[:len(lenText)-1])
		require.NoError(t, err)
		m := make([]byte, l)
		_, err = io.ReadFull(r, m)
		require.NoError(t, err)
		out = append(out, m)
	}
}

func TestSendTCP(t *testing.T) {
	tests := []struct {
		name    string
		framing string
		conns   int
	}{
		{"lf one connection", framingLF, 1},
		{"octet one connection", framingOctet, 1},
		{"lf three connections", framingLF, 3},
		{"octet three connections", framingOctet, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 1000
			msgs, err := generate(testConfig(formatRFC5424), n)
			require.NoError(t, err)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()

			// Each accepted connection is read to EOF: loadgen half-closes
			// after its share, so EOF means the share is complete.
			streams := make([][]byte, tt.conns)
			var wg sync.WaitGroup
			wg.Go(func() {
				var readers sync.WaitGroup
				for i := range tt.conns {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					readers.Go(func() {
						defer c.Close()
						streams[i], _ = io.ReadAll(c)
					})
				}
				readers.Wait()
			})

			res, err := sendTCP(t.Context(), ln.Addr().String(), msgs, tt.framing, tt.conns, 1)
			require.NoError(t, err)
			wg.Wait()
			require.Equal(t, n, res.sent)

			var total int64
			got := make(map[string]int)
			for _, s := range streams {
				total += int64(len(s))
				for _, m := range readFrames(t, s, tt.framing) {
					got[string(m)]++
				}
			}
			require.Equal(t, res.bytes, total)
			require.Len(t, got, n)
			for i := range n {
				require.Equal(t, 1, got[string(msgs.At(i))], "message %d", i)
			}
		})
	}
}

func TestSendTCPRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	msgs, err := generate(testConfig(formatRFC5424), 1)
	require.NoError(t, err)
	_, err = sendTCP(t.Context(), addr, msgs, framingLF, 1, 1)
	require.ErrorContains(t, err, "dial")
}

// With -senders, the connections come from that many loopback addresses.
func TestSendTCPFromSeveralSenders(t *testing.T) {
	msgs, err := generate(testConfig(formatRFC5424), 60)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	peers := make(chan string, 6)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 6 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c)
			})
		}
	})
	res, err := sendTCP(t.Context(), ln.Addr().String(), msgs, framingLF, 6, 3)
	require.NoError(t, err)
	wg.Wait()
	close(peers)
	require.Equal(t, 60, res.sent)
	got := map[string]int{}
	for p := range peers {
		got[p]++
	}
	require.Equal(t, map[string]int{"127.0.0.1": 2, "127.0.0.2": 2, "127.0.0.3": 2}, got)
}

func TestSendUDP(t *testing.T) {
	// Few enough datagrams to fit the socket buffer (the kernel charges
	// about 1 KiB per small datagram), so loopback delivers all of them
	// whatever the scheduling.
	const n = 64
	msgs, err := generate(testConfig(formatRFC3164), n)
	require.NoError(t, err)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	require.NoError(t, pc.(*net.UDPConn).SetReadBuffer(1<<20))

	res, err := sendUDP(t.Context(), pc.LocalAddr().String(), msgs, 0)
	require.NoError(t, err)
	require.Equal(t, n, res.sent)

	// The deadline only keeps a broken sender from hanging the test.
	require.NoError(t, pc.SetReadDeadline(time.Now().Add(10*time.Second)))
	buf := make([]byte, 2048)
	var total int64
	for i := range n {
		k, _, err := pc.ReadFrom(buf)
		require.NoError(t, err)
		require.Equal(t, msgs.At(i), buf[:k], "datagram %d", i)
		total += int64(k)
	}
	require.Equal(t, res.bytes, total)
}

func TestSendUDPCancelled(t *testing.T) {
	msgs, err := generate(testConfig(formatRFC3164), 10)
	require.NoError(t, err)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := sendUDP(ctx, pc.LocalAddr().String(), msgs, 1)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, res.sent)
}

func TestPacer(t *testing.T) {
	p := newPacer(100_000)
	require.Equal(t, 100, p.allowed(0), "one millisecond of burst at the start")
	require.Equal(t, 100+100, p.allowed(time.Millisecond))
	require.Equal(t, 100_000+100, p.allowed(time.Second))
	require.Equal(t, 3*100_000+50+100, p.allowed(3*time.Second+500*time.Microsecond))

	for _, total := range []int{1, 100, 101, 150, 12_345, 1_000_000} {
		d := p.due(total)
		require.GreaterOrEqual(t, p.allowed(d), total, "at due(%d) = %s", total, d)
		if d > 0 {
			require.Less(t, p.allowed(d-time.Nanosecond), total, "just before due(%d) = %s", total, d)
		}
	}

	slow := newPacer(10)
	require.Equal(t, 1, slow.allowed(0), "the burst is at least one message")
	require.Equal(t, 100*time.Millisecond, slow.due(2))

	free := newPacer(0)
	require.Equal(t, unlimited, free.allowed(0))
	require.Zero(t, free.due(1_000_000))
}

func TestWriteFramed(t *testing.T) {
	msgs, err := generate(testConfig(formatRFC3164), 3)
	require.NoError(t, err)
	for _, framing := range []string{framingLF, framingOctet} {
		var buf bytes.Buffer
		require.NoError(t, writeFramed(&buf, msgs, 0, 3, framing))
		got := readFrames(t, buf.Bytes(), framing)
		require.Len(t, got, 3)
		var total int
		for i := range 3 {
			require.Equal(t, msgs.At(i), got[i])
			total += framedLen(msgs.At(i), framing)
		}
		require.Equal(t, total, buf.Len())
	}
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"bad proto", []string{"-proto", "sctp"}},
		{"bad framing", []string{"-framing", "nul"}},
		{"zero n", []string{"-n", "0"}},
		{"negative rate", []string{"-rate", "-1"}},
		{"zero conns", []string{"-conns", "0"}},
		{"bad format", []string{"-format", "cef", "-print"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			require.Error(t, run(t.Context(), tt.args, &out, &errOut))
		})
	}
}

func TestRunPrint(t *testing.T) {
	var out, errOut bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-print", "-n", "5", "-format", "rfc3164"}, &out, &errOut))
	lines := bytes.Split(bytes.TrimSuffix(out.Bytes(), []byte("\n")), []byte("\n"))
	require.Len(t, lines, 5)
	for _, l := range lines {
		require.True(t, bytes.HasPrefix(l, []byte("<")))
	}
}

func TestRunSendsAndReports(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	var out, errOut bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-proto", "udp", "-addr", pc.LocalAddr().String(), "-n", "50", "-rate", "0"}, &out, &errOut))
	require.Regexp(t, `^loadgen: proto=udp .* sent=50 bytes=\d+ elapsed=\S+ rate=\d+ start_unix_ns=\d+ end_unix_ns=\d+\n$`, out.String())
}
