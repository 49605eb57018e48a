package syslog

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Datagrams the kernel dropped because a socket's receive buffer was full
// never reach siemfwd, so no counter of ours sees them. Linux counts them per
// socket in the last column of /proc/net/udp{,6}; siemfwd finds its own
// sockets there by inode and exports the sum, so that UDP loss is visible in
// siemfwd's metrics wherever it happens.

// socketInodes returns the inodes of socks.
func socketInodes(socks []*udpSocket) []uint64 {
	var inodes []uint64
	for _, sock := range socks {
		if ino, ok := sock.inode(); ok {
			inodes = append(inodes, ino)
		}
	}
	return inodes
}

// kernelDrops sums the drops column of the sockets with the given inodes in
// /proc/net/udp-style tables.
func kernelDrops(tables []io.Reader, inodes []uint64) uint64 {
	var sum uint64
	for _, t := range tables {
		sc := bufio.NewScanner(t)
		sc.Scan() // header
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 13 {
				continue
			}
			ino, err := strconv.ParseUint(f[9], 10, 64)
			if err != nil {
				continue
			}
			for _, want := range inodes {
				if ino == want {
					if d, err := strconv.ParseUint(f[len(f)-1], 10, 64); err == nil {
						sum += d
					}
				}
			}
		}
	}
	return sum
}

// registerKernelDrops exports the kernel's drop count of this source's UDP
// sockets as siemfwd_source_kernel_dropped_events_total{source}.
func (s *Source) registerKernelDrops(reg prometheus.Registerer, socks []*udpSocket) {
	inodes := socketInodes(socks)
	if len(inodes) == 0 {
		return
	}
	c := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name:        "siemfwd_source_kernel_dropped_events_total",
		Help:        "Datagrams the kernel dropped for this source's UDP sockets because their receive buffer was full (from /proc/net/udp).",
		ConstLabels: prometheus.Labels{"source": s.name},
	}, func() float64 {
		var tables []io.Reader
		for _, name := range []string{"/proc/net/udp", "/proc/net/udp6"} {
			if f, err := os.Open(name); err == nil {
				defer f.Close()
				tables = append(tables, f)
			}
		}
		return float64(kernelDrops(tables, inodes))
	})
	var already prometheus.AlreadyRegisteredError
	if err := reg.Register(c); err != nil && !errors.As(err, &already) {
		s.log.Warn("kernel drop counter not registered", "err", err)
	}
}
