package ledger

import (
	"fmt"
	"net/netip"
	"time"

	"siemfwd/internal/confcheck"
)

// maxHostname is the longest syslog HOSTNAME kept (RFC 5424 allows 255
// octets); longer ones are cut so one sender cannot make the ledger large.
const maxHostname = 255

// maxSendersCap bounds max_senders: each tracked sender costs a few hundred
// bytes, so a typo must not let spoofed UDP addresses take gigabytes.
const maxSendersCap = 1 << 20

// Config configures the ledger. The caller prefixes the keys that Validate
// reports with the section name (e.g. "ledger.").
type Config struct {
	// MaxSenders is the most senders tracked at once; the least recently
	// heard one is forgotten (and counted as an eviction) to make room.
	// Expected senders are always kept and do not count against it.
	MaxSenders int `mapstructure:"max_senders"`
	// DefaultInterval marks a sender that is not in ExpectedSenders quiet
	// (and alerts once) when it sent nothing for this long; 0 never flags them.
	DefaultInterval time.Duration `mapstructure:"default_interval"`
	// CheckInterval is how often the silence watch looks for senders that
	// went quiet; an alert comes at most this long after the interval passed.
	CheckInterval time.Duration `mapstructure:"check_interval"`
	// ExpectedSenders are devices that must keep sending. They are listed
	// (with zero counts) before they first speak, are never evicted, and
	// raise a silence alert when quiet for longer than their interval.
	ExpectedSenders []ExpectedSender `mapstructure:"expected_senders"`
}

// ExpectedSender is one device that must keep sending.
type ExpectedSender struct {
	// Address is the sender's IP address as siemfwd sees it (after NAT), e.g. "10.0.0.5".
	Address string `mapstructure:"address"`
	// Hostname names the device in /senders and in alerts until its own
	// syslog HOSTNAME is seen; it is not matched against anything.
	Hostname string `mapstructure:"hostname"`
	// Interval is the longest silence that is normal for this device; 0 takes default_interval.
	Interval time.Duration `mapstructure:"interval"`
}

// DefaultConfig returns the defaults: 10000 senders, unknown senders never
// flagged quiet, a silence check every 10 seconds, no expected senders.
func DefaultConfig() Config {
	return Config{
		MaxSenders:    10000,
		CheckInterval: 10 * time.Second,
	}
}

// Validate reports every problem, each naming its key relative to the section.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if c.MaxSenders < 1 || c.MaxSenders > maxSendersCap {
		errs.Add("max_senders", "must be in 1..%d, got %d", maxSendersCap, c.MaxSenders)
	}
	if c.DefaultInterval < 0 {
		errs.Add("default_interval", "must be >= 0 (0 never flags unknown senders), got %s", c.DefaultInterval)
	}
	errs.Positive("check_interval", c.CheckInterval)
	seen := map[netip.Addr]int{}
	for i, e := range c.ExpectedSenders {
		key := fmt.Sprintf("expected_senders[%d]", i)
		addr, err := netip.ParseAddr(e.Address)
		switch {
		case e.Address == "":
			errs.Add(key+".address", "required, e.g. \"10.0.0.5\"")
		case err != nil:
			errs.Add(key+".address", "must be an IP address, got %q", e.Address)
		default:
			addr = addr.Unmap()
			if j, dup := seen[addr]; dup {
				errs.Add(key+".address", "%s is already expected_senders[%d]", addr, j)
			}
			seen[addr] = i
		}
		if len(e.Hostname) > maxHostname {
			errs.Add(key+".hostname", "must be at most %d bytes, got %d", maxHostname, len(e.Hostname))
		}
		switch {
		case e.Interval < 0:
			errs.Add(key+".interval", "must be > 0, got %s", e.Interval)
		case e.Interval == 0 && c.DefaultInterval <= 0:
			errs.Add(key+".interval", "must be > 0 (or set default_interval), got 0s")
		}
	}
	return errs.Err()
}
