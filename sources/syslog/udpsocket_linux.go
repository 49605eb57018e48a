package syslog

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// udpSocket is a UDP socket that Go's network poller never sees. A socket
// the poller knows wakes a thread for every datagram that arrives while no
// reader is waiting, and a reader that waits there is woken for every burst;
// readUDP instead polls its socket on its own schedule and only blocks in
// the kernel (recvmmsg with MSG_WAITFORONE) when the socket has been idle.
// The socket is in blocking mode with a receive timeout, so a blocked read
// returns now and then to look at the context.
type udpSocket struct {
	fd    int
	local netip.AddrPort
}

// udpWaitTimeout bounds a blocking read, so a reader notices shutdown even if
// the wake-up by shutdown(2) is missed.
const udpWaitTimeout = 250 * time.Millisecond

// openUDP binds a socket to address with SO_REUSEPORT (so that several
// readers share the port) and a receive buffer of rcvbuf bytes (0: the
// kernel's default). A host-less or "[::]" address is dual-stack, as Go's
// own listeners are; where IPv6 is unavailable it falls back to IPv4.
// rcvErr reports a receive buffer that could not be set; the socket is
// usable anyway.
func openUDP(address string, rcvbuf int) (sock *udpSocket, rcvErr error, err error) {
	ua, err := net.ResolveUDPAddr("udp", address)
	if err != nil {
		return nil, nil, err
	}
	ap := ua.AddrPort()
	ip := ap.Addr().Unmap()
	var sa unix.Sockaddr
	family, v6only := unix.AF_INET6, 1
	switch {
	case ip.Is4():
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}
	case !ip.IsValid() || ip.IsUnspecified():
		v6only, sa = 0, &unix.SockaddrInet6{Port: int(ap.Port())}
	default:
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil && family == unix.AF_INET6 && v6only == 0 {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port())}
		fd, err = unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("socket: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = unix.Close(fd)
		}
	}()
	if family == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return nil, nil, fmt.Errorf("set IPV6_V6ONLY: %w", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return nil, nil, fmt.Errorf("set SO_REUSEPORT: %w", err)
	}
	tv := unix.NsecToTimeval(udpWaitTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, nil, fmt.Errorf("set SO_RCVTIMEO: %w", err)
	}
	if rcvbuf > 0 {
		// SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN;
		// without it SO_RCVBUF is capped silently.
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
			rcvErr = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, nil, err
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return nil, nil, fmt.Errorf("getsockname: %w", err)
	}
	sock = &udpSocket{fd: fd}
	switch b := bound.(type) {
	case *unix.SockaddrInet4:
		sock.local = netip.AddrPortFrom(netip.AddrFrom4(b.Addr), uint16(b.Port))
	case *unix.SockaddrInet6:
		sock.local = netip.AddrPortFrom(netip.AddrFrom16(b.Addr).Unmap(), uint16(b.Port))
	default:
		return nil, nil, errors.New("getsockname: not an internet address")
	}
	ok = true
	return sock, rcvErr, nil
}

// LocalAddr is the bound address.
func (s *udpSocket) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(s.local) }

// receiveBuffer returns the kernel's SO_RCVBUF value, or 0 if unknown.
func (s *udpSocket) receiveBuffer() int {
	n, _ := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	return n
}

// inode identifies the socket in /proc/net/udp.
func (s *udpSocket) inode() (uint64, bool) {
	var st unix.Stat_t
	if unix.Fstat(s.fd, &st) != nil {
		return 0, false
	}
	return st.Ino, true
}

// wake ends a reader's blocking read at once: shutdown(2) wakes the
// socket's waiters, and every read after it returns without waiting. The
// descriptor stays open, so a reader still inside recvmmsg cannot read
// another file that took its number.
func (s *udpSocket) wake() {
	if s.fd >= 0 {
		_ = unix.Shutdown(s.fd, unix.SHUT_RD)
	}
}

// close releases the descriptor; no reader may use the socket any more.
// Closing again does nothing.
func (s *udpSocket) close() error {
	if s.fd < 0 {
		return nil
	}
	fd := s.fd
	s.fd = -1
	return unix.Close(fd)
}
