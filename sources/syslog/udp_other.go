//go:build !linux

package syslog

import (
	"context"
	"errors"
	"net"

	"siemfwd/pipeline"
)

// errUDPUnavailable is what a UDP source says outside Linux: its readers
// use recvmmsg, SO_REUSEPORT and SO_RCVBUFFORCE, which only Linux (the
// production platform) has. TCP and TLS work everywhere.
var errUDPUnavailable = errors.New("protocol udp: available on Linux only (the production platform); use tcp or tls on this system")

// udpSocket stands for the Linux socket type; no value of it is made here.
type udpSocket struct{}

func (s *Source) listenUDP() ([]*udpSocket, error) { return nil, errUDPUnavailable }

func (s *Source) readUDP(context.Context, *udpSocket, pipeline.IDScope, chan<- pipeline.Batch) {}

func (*udpSocket) LocalAddr() net.Addr   { return nil }
func (*udpSocket) inode() (uint64, bool) { return 0, false }
func (*udpSocket) wake()                 {}
func (*udpSocket) close() error          { return nil }
