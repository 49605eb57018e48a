package syslog

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgReader reads many datagrams with one recvmmsg(2) call into buffers,
// headers and address slots it allocates once. Decoding the sender's address
// by hand avoids the two allocations per datagram that a net.Addr costs.
type mmsgReader struct {
	fd    int
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // big enough for IPv4 and IPv6 senders
	dgs   []datagram
}

// datagram is one received message; data aliases the reader's buffer and is
// valid until the next read.
type datagram struct {
	buf       []byte // the whole receive buffer
	data      []byte // what arrived (at most len(buf))
	peer      netip.AddrPort
	truncated bool // longer than buf: the kernel cut it (MSG_TRUNC)
}

func newMmsgReader(sock *udpSocket, count, size int) *mmsgReader {
	r := &mmsgReader{fd: sock.fd, hdrs: make([]unix.Mmsghdr, count), iovs: make([]unix.Iovec, count),
		names: make([]unix.RawSockaddrInet6, count), dgs: make([]datagram, count)}
	for i := range count {
		r.dgs[i].buf = make([]byte, size)
		r.iovs[i].Base = &r.dgs[i].buf[0]
		r.iovs[i].SetLen(size)
		r.hdrs[i].Hdr.Iov = &r.iovs[i]
		r.hdrs[i].Hdr.SetIovlen(1)
		r.hdrs[i].Hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
	}
	return r
}

// read receives up to max datagrams. With wait, it blocks until at least one
// arrives or the socket's receive timeout passes (unix.EAGAIN); without, it
// returns unix.EAGAIN at once when none is queued.
func (r *mmsgReader) read(max int, wait bool) ([]datagram, error) {
	max = min(max, len(r.hdrs))
	for i := range max {
		r.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6 // the kernel overwrites it with the sender's length
		r.hdrs[i].Hdr.Flags = 0
	}
	var (
		n     uintptr
		errno syscall.Errno
	)
	if wait {
		n, _, errno = unix.Syscall6(unix.SYS_RECVMMSG, uintptr(r.fd), uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(max),
			unix.MSG_WAITFORONE, 0, 0)
	} else {
		// The call never blocks, so it is made raw, without telling the
		// scheduler it may: a call that copies 32 datagrams can outlast a
		// scheduler tick, and the scheduler would hand this reader's
		// processor to another thread meanwhile (a wake-up and a context
		// switch for nothing).
		n, _, errno = unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(r.fd), uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(max),
			unix.MSG_DONTWAIT, 0, 0)
	}
	if errno != 0 {
		return nil, errno
	}
	dgs := r.dgs[:n]
	for i := range dgs {
		h := &r.hdrs[i]
		dgs[i].data = dgs[i].buf[:min(int(h.Len), len(dgs[i].buf))]
		dgs[i].truncated = h.Hdr.Flags&unix.MSG_TRUNC != 0
		dgs[i].peer = sockaddrPeer(&r.names[i])
	}
	return dgs, nil
}

// sockaddrPeer decodes a sockaddr_in or sockaddr_in6, IPv4-mapped IPv6
// addresses (from dual-stack sockets) unmapped to plain IPv4. An IPv6 zone is
// not kept.
func sockaddrPeer(sa *unix.RawSockaddrInet6) netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	switch sa.Family {
	case unix.AF_INET:
		v4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(v4.Addr), port)
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
	}
	return netip.AddrPort{}
}
