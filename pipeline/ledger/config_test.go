package ledger

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unsafeString aliases b, as the worker's parsed hostnames alias event bytes.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())

	for _, tt := range []struct {
		name   string
		modify func(*Config)
		want   []string // every problem, by its key
	}{
		{"expected senders", func(c *Config) {
			c.ExpectedSenders = []ExpectedSender{
				{Address: "10.0.0.5", Hostname: "mail01", Interval: 5 * time.Minute},
				{Address: "::ffff:10.0.0.6", Interval: time.Minute},
			}
		}, nil},
		{"interval from default", func(c *Config) {
			c.DefaultInterval = time.Hour
			c.ExpectedSenders = []ExpectedSender{{Address: "10.0.0.5"}}
		}, nil},
		{"everything wrong", func(c *Config) {
			c.MaxSenders = 0
			c.DefaultInterval = -time.Second
			c.CheckInterval = 0
			c.ExpectedSenders = []ExpectedSender{
				{Address: "10.0.0.5", Interval: time.Minute},
				{Address: "mail01", Interval: time.Minute},
				{Address: "", Hostname: strings.Repeat("h", 300)},
				{Address: "::ffff:10.0.0.5", Interval: -time.Minute},
			}
		}, []string{
			"max_senders: must be in 1..",
			"default_interval: must be >= 0",
			"check_interval: must be > 0",
			`expected_senders[1].address: must be an IP address, got "mail01"`,
			"expected_senders[2].address: required",
			"expected_senders[2].hostname: must be at most 255 bytes",
			"expected_senders[2].interval: must be > 0 (or set default_interval)",
			"expected_senders[3].address: 10.0.0.5 is already expected_senders[0]",
			"expected_senders[3].interval: must be > 0",
		}},
		{"too many senders", func(c *Config) { c.MaxSenders = maxSendersCap + 1 }, []string{"max_senders: must be in 1..1048576"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			lines := strings.Split(err.Error(), "\n")
			require.Len(t, lines, len(tt.want), err.Error())
			for i, w := range tt.want {
				assert.True(t, strings.HasPrefix(lines[i], w), "problem %d: got %q, want prefix %q", i, lines[i], w)
			}
		})
	}
}

func TestNewSkipsInvalidExpectedSenders(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ExpectedSenders = []ExpectedSender{{Address: "nope", Interval: time.Minute}, {Address: "::ffff:10.0.0.1", Interval: time.Minute}}
	l := New(cfg, nil)
	snap := l.Snapshot()
	require.Len(t, snap, 1)
	assert.Equal(t, "10.0.0.1", snap[0].Address.String())
}
