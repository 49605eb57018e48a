package syslog

import (
	"net/netip"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestSockaddrPeerDecodesEveryFamily(t *testing.T) {
	var v4 unix.RawSockaddrInet6
	in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&v4))
	in4.Family = unix.AF_INET
	in4.Addr = [4]byte{192, 0, 2, 25}
	*(*[2]byte)(unsafe.Pointer(&in4.Port)) = [2]byte{0x15, 0x8a} // 5514, network byte order
	require.Equal(t, netip.MustParseAddrPort("192.0.2.25:5514"), sockaddrPeer(&v4))

	v6 := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: netip.MustParseAddr("2001:db8::7").As16()}
	*(*[2]byte)(unsafe.Pointer(&v6.Port)) = [2]byte{0x02, 0x02} // 514
	require.Equal(t, netip.MustParseAddrPort("[2001:db8::7]:514"), sockaddrPeer(&v6))

	mapped := unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: netip.MustParseAddr("::ffff:198.51.100.4").As16()}
	require.Equal(t, netip.MustParseAddrPort("198.51.100.4:0"), sockaddrPeer(&mapped), "dual-stack sockets report IPv4 senders mapped")

	require.False(t, sockaddrPeer(&unix.RawSockaddrInet6{Family: unix.AF_UNIX}).IsValid())
}
