package mailflow

import (
	"time"

	"siemfwd/internal/confcheck"
)

// Config turns mail-flow correlation on and bounds its state.
type Config struct {
	// Enabled turns the correlation on. Off, no summary events are made and
	// no state is kept.
	Enabled bool `mapstructure:"enabled"`
	// Timeout is how long after its first line a message's summary waits for
	// its last delivery result; then it is emitted as it is, tagged
	// mail_flow_timeout. Kerio retries delayed deliveries for days, so a
	// summary cannot wait for all of them.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxOpenMessages bounds the messages waiting for results. When full,
	// the oldest is emitted early, tagged mail_flow_evicted. Each open
	// message costs a few hundred bytes plus its addresses.
	MaxOpenMessages int `mapstructure:"max_open_messages"`
	// MaxRecipients bounds the recipients kept per message; further ones
	// are counted in kerio.mail.recipients_dropped, and such a message is
	// emitted at its timeout (it cannot be known to be complete).
	MaxRecipients int `mapstructure:"max_recipients"`
}

// DefaultConfig returns the defaults: off, 10 minutes, 100000 messages, 1000
// recipients each.
func DefaultConfig() Config {
	return Config{Timeout: 10 * time.Minute, MaxOpenMessages: 100_000, MaxRecipients: 1000}
}

// Validate reports every problem, each with its key.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if c.Timeout < time.Second {
		errs.Add("timeout", "must be at least 1s, got %s", c.Timeout)
	}
	if c.MaxOpenMessages < 1 {
		errs.Add("max_open_messages", "must be at least 1, got %d", c.MaxOpenMessages)
	}
	if c.MaxRecipients < 1 {
		errs.Add("max_recipients", "must be at least 1, got %d", c.MaxRecipients)
	}
	return errs.Err()
}
