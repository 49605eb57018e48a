package syslog

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestOpenUDPSharesAPortBetweenReaders(t *testing.T) {
	first, rcvErr, err := openUDP("127.0.0.1:0", 1<<20)
	require.NoError(t, err)
	require.NoError(t, rcvErr)
	t.Cleanup(func() { _ = first.close() })
	require.NotZero(t, first.local.Port(), "port 0 picks a port")
	require.Equal(t, netip.MustParseAddr("127.0.0.1"), first.local.Addr())
	require.Equal(t, first.local.String(), first.LocalAddr().String())

	second, _, err := openUDP(first.local.String(), 0)
	require.NoError(t, err, "SO_REUSEPORT lets the next reader bind the same port")
	t.Cleanup(func() { _ = second.close() })

	_, _, err = openUDP("nonsense:port", 0)
	require.Error(t, err)
}

func TestOpenUDPWithoutHostIsDualStack(t *testing.T) {
	sock, _, err := openUDP(":0", 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sock.close() })
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(sock.local.Port()))))
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("<13>hello"))
	require.NoError(t, err)

	r := newMmsgReader(sock, 4, 64)
	dgs, err := r.read(4, true)
	require.NoError(t, err)
	require.Len(t, dgs, 1)
	require.Equal(t, "<13>hello", string(dgs[0].data))
	require.Equal(t, netip.MustParseAddr("127.0.0.1"), dgs[0].peer.Addr(), "IPv4 senders of a dual-stack socket are unmapped")
}

func TestReadWithoutWaitReportsAnEmptySocket(t *testing.T) {
	sock, _, err := openUDP("127.0.0.1:0", 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sock.close() })
	_, err = newMmsgReader(sock, 4, 64).read(4, false)
	require.ErrorIs(t, err, unix.EAGAIN)
}

func TestWakeEndsABlockingRead(t *testing.T) {
	sock, _, err := openUDP("127.0.0.1:0", 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sock.close() })
	// No receive timeout: only wake can end this read (if it did not, the
	// test would hang until go test's own timeout fails it).
	require.NoError(t, unix.SetsockoptTimeval(sock.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{}))
	done := make(chan []datagram, 1)
	go func() {
		dgs, _ := newMmsgReader(sock, 4, 64).read(4, true)
		done <- dgs
	}()
	sock.wake()
	// The read returns whether wake came before or during it: a socket
	// shut down for reading never blocks again.
	for _, dg := range <-done {
		require.Empty(t, dg.data, "a woken read returns no data")
	}
	require.NoError(t, sock.close())
	require.NoError(t, sock.close(), "closing twice is harmless")
	sock.wake() // and waking a closed socket too
}
