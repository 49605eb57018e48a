package syslog

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Protocols a syslog source can listen on.
const (
	ProtocolUDP = "udp"
	ProtocolTCP = "tcp"
)

// maxMessageCap bounds max_message_bytes: every TCP connection may hold one
// message of this size, so a typo must not let a few thousand connections
// take gigabytes.
const maxMessageCap = 16 << 20

// Config configures one syslog listener. The caller prefixes the keys that
// Validate reports with "sources.<name>.".
type Config struct {
	// Protocol is "udp" or "tcp" (RFC 6587 framing).
	Protocol string `mapstructure:"protocol"`
	// Address is the host:port to listen on, e.g. "0.0.0.0:514"; port 0 picks a free port.
	Address string `mapstructure:"address"`
	// Timezone is the IANA zone for timestamps that carry none (RFC 3164, Kerio brackets).
	Timezone string `mapstructure:"timezone"`
	// Product is the Kerio product that sends here: "kerio_connect", "kerio_control" or "" to detect.
	Product string `mapstructure:"product"`
	// Log is a log name hint ("security", "mail", …) or "" to take it from APP-NAME or the text.
	Log string `mapstructure:"log"`
	// MaxMessageBytes is the longest message kept; longer ones are cut, flagged and counted.
	MaxMessageBytes int `mapstructure:"max_message_bytes"`
	// BatchEvents is the most events sent downstream in one batch.
	BatchEvents int `mapstructure:"batch_events"`
	// Readers is the number of UDP reader goroutines, each with its own SO_REUSEPORT socket.
	Readers int `mapstructure:"readers"`
	// ReceiveBuffer is the UDP socket receive buffer (SO_RCVBUF) in bytes; 0 keeps the kernel default.
	ReceiveBuffer int `mapstructure:"receive_buffer"`
	// MaxConnections is the most TCP connections served at once; more are accepted and closed at once.
	MaxConnections int `mapstructure:"max_connections"`
	// IdleTimeout closes a TCP connection that sent nothing for this long; 0 never closes it.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
}

// DefaultConfig returns the defaults: UDP on 0.0.0.0:514 in UTC, 64 KiB
// messages, 256-event batches, 2 UDP readers with 4 MiB buffers, 1024 TCP
// connections idle for at most 5 minutes.
func DefaultConfig() Config {
	return Config{
		Protocol:        ProtocolUDP,
		Address:         "0.0.0.0:514",
		Timezone:        "UTC",
		MaxMessageBytes: 64 << 10,
		BatchEvents:     256,
		Readers:         2,
		ReceiveBuffer:   4 << 20,
		MaxConnections:  1024,
		IdleTimeout:     5 * time.Minute,
	}
}

// Validate reports every problem, each naming its key relative to the source.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.Protocol {
	case ProtocolUDP, ProtocolTCP:
	default:
		bad("protocol", "must be %q or %q, got %q", ProtocolUDP, ProtocolTCP, c.Protocol)
	}
	if _, port, err := net.SplitHostPort(c.Address); err != nil {
		bad("address", "must be host:port, got %q: %v", c.Address, err)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		bad("address", "port must be a number 0-65535, got %q", port)
	}
	if c.Timezone == "" {
		bad("timezone", "must be an IANA zone such as \"UTC\" or \"Europe/Prague\", got \"\"")
	} else if _, err := time.LoadLocation(c.Timezone); err != nil {
		bad("timezone", "unknown zone %q: %v", c.Timezone, err)
	}
	switch c.Product {
	case "", "kerio_connect", "kerio_control":
	default:
		bad("product", "must be \"kerio_connect\", \"kerio_control\" or \"\", got %q", c.Product)
	}
	if c.MaxMessageBytes < 1 || c.MaxMessageBytes > maxMessageCap {
		bad("max_message_bytes", "must be in 1..%d, got %d", maxMessageCap, c.MaxMessageBytes)
	}
	if c.BatchEvents < 1 {
		bad("batch_events", "must be > 0, got %d", c.BatchEvents)
	}
	if c.Readers < 1 {
		bad("readers", "must be > 0, got %d", c.Readers)
	}
	if c.ReceiveBuffer < 0 {
		bad("receive_buffer", "must be >= 0, got %d", c.ReceiveBuffer)
	}
	if c.MaxConnections < 1 {
		bad("max_connections", "must be > 0, got %d", c.MaxConnections)
	}
	if c.IdleTimeout < 0 {
		bad("idle_timeout", "must be >= 0, got %s", c.IdleTimeout)
	}
	return errors.Join(errs...)
}
