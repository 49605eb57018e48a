package file

import (
	"fmt"
	"path/filepath"
	"time"

	"siemfwd/internal/confcheck"
	"siemfwd/parse/charset"
	"siemfwd/parse/kerio"
)

// Where to start reading a file that the offsets file does not know.
const (
	StartAtBeginning = "beginning"
	StartAtEnd       = "end"
)

// Bounds on the sizes, so that a typo cannot make every open file hold
// gigabytes: each open file holds up to two read buffers of about
// 2 × max_line_bytes.
const (
	maxLineCap        = 16 << 20
	maxFingerprintCap = 64 << 10
)

// Config configures one file source. The caller prefixes the keys that
// Validate reports with "sources.<name>.".
type Config struct {
	// Paths are the globs (filepath.Match syntax, no "**") of the files to read.
	Paths []string `mapstructure:"paths"`
	// Exclude are globs of files not to read; a glob without a "/" matches the base name.
	Exclude []string `mapstructure:"exclude"`
	// RescanInterval is how often the globs are matched again to find new and rotated files.
	RescanInterval time.Duration `mapstructure:"rescan_interval"`
	// PollInterval is how often an open file at its end is checked for growth, truncation and rotation.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// Product is the Kerio product that writes the files: "kerio_connect", "kerio_control" or "" to detect.
	Product string `mapstructure:"product"`
	// Log is the log name ("security", "mail", …); empty takes it from each file's name
	// (security.log, security.log.1 and security-2026-03-14.log all give "security").
	Log string `mapstructure:"log"`
	// Timezone is the IANA zone of the times in the lines (Kerio brackets carry none).
	Timezone string `mapstructure:"timezone"`
	// Charset is the character set of lines that are not valid UTF-8 (e.g. "windows-1250");
	// with "utf-8" their invalid bytes become U+FFFD (tag _invalid_charset).
	Charset string `mapstructure:"charset"`
	// StartAt is where to start a file found at startup that the offsets file does not know:
	// "beginning" or "end". Files that appear later are always read from the beginning.
	StartAt string `mapstructure:"start_at"`
	// MaxLineBytes is the longest line sent as one event; a longer one is split into
	// pieces of this size, each an event tagged _split.
	MaxLineBytes int `mapstructure:"max_line_bytes"`
	// BatchEvents is the most events sent downstream in one batch.
	BatchEvents int `mapstructure:"batch_events"`
	// StateDir is the directory of the offsets file and the lock file (required).
	StateDir string `mapstructure:"state_dir"`
	// FingerprintBytes is how many leading bytes identify a file across renames and restarts.
	FingerprintBytes int `mapstructure:"fingerprint_bytes"`
	// MaxOpenFiles bounds the files read at once; more wait until one is released.
	MaxOpenFiles int `mapstructure:"max_open_files"`
	// CommitInterval is how often acknowledged offsets are written to the offsets file.
	CommitInterval time.Duration `mapstructure:"commit_interval"`
	// DrainTimeout bounds the wait for acknowledgements of sent batches at shutdown.
	DrainTimeout time.Duration `mapstructure:"drain_timeout"`
	// ForgetAfter drops the offsets of a file that no glob has matched for this long.
	ForgetAfter time.Duration `mapstructure:"forget_after"`
}

// DefaultConfig returns the defaults: rescan every 10s, poll every 250ms,
// UTC, start at the beginning, 64 KiB lines, 512-event batches, 1 KiB
// fingerprints, 100 open files, commit every second, 10s drain, forget after
// a week. Paths and StateDir have no default.
func DefaultConfig() Config {
	return Config{
		RescanInterval:   10 * time.Second,
		PollInterval:     250 * time.Millisecond,
		Timezone:         "UTC",
		Charset:          "utf-8",
		StartAt:          StartAtBeginning,
		MaxLineBytes:     64 << 10,
		BatchEvents:      512,
		FingerprintBytes: 1024,
		MaxOpenFiles:     100,
		CommitInterval:   time.Second,
		DrainTimeout:     10 * time.Second,
		ForgetAfter:      7 * 24 * time.Hour,
	}
}

// Validate reports every problem, each naming its key relative to the source.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if len(c.Paths) == 0 {
		errs.Add("paths", "at least one glob is required")
	}
	for i, p := range c.Paths {
		if p == "" {
			errs.Add(fmt.Sprintf("paths[%d]", i), "must not be empty")
		} else if _, err := filepath.Match(p, ""); err != nil {
			errs.Add(fmt.Sprintf("paths[%d]", i), "bad glob %q: %v", p, err)
		}
	}
	for i, p := range c.Exclude {
		if p == "" {
			errs.Add(fmt.Sprintf("exclude[%d]", i), "must not be empty")
		} else if _, err := filepath.Match(p, ""); err != nil {
			errs.Add(fmt.Sprintf("exclude[%d]", i), "bad glob %q: %v", p, err)
		}
	}
	errs.Positive("rescan_interval", c.RescanInterval)
	errs.Positive("poll_interval", c.PollInterval)
	errs.Positive("commit_interval", c.CommitInterval)
	errs.Positive("forget_after", c.ForgetAfter)
	if c.DrainTimeout < 0 {
		errs.Add("drain_timeout", "must be >= 0, got %s", c.DrainTimeout)
	}
	if err := kerio.CheckProduct(c.Product); err != nil {
		errs.Add("product", "%v", err)
	}
	if _, err := charset.Lookup(c.Charset); err != nil {
		errs.Add("charset", "%v", err)
	}
	if c.Timezone == "" {
		errs.Add("timezone", "must be an IANA zone such as \"UTC\" or \"Europe/Prague\", got \"\"")
	} else if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs.Add("timezone", "unknown zone %q: %v", c.Timezone, err)
	}
	if c.StartAt != StartAtBeginning && c.StartAt != StartAtEnd {
		errs.Add("start_at", "must be %q or %q, got %q", StartAtBeginning, StartAtEnd, c.StartAt)
	}
	if c.MaxLineBytes < 1 || c.MaxLineBytes > maxLineCap {
		errs.Add("max_line_bytes", "must be in 1..%d, got %d", maxLineCap, c.MaxLineBytes)
	}
	if c.BatchEvents < 1 {
		errs.Add("batch_events", "must be > 0, got %d", c.BatchEvents)
	}
	if c.StateDir == "" {
		errs.Add("state_dir", "required: the directory where acknowledged offsets are kept")
	}
	if c.FingerprintBytes < 1 || c.FingerprintBytes > maxFingerprintCap {
		errs.Add("fingerprint_bytes", "must be in 1..%d, got %d", maxFingerprintCap, c.FingerprintBytes)
	}
	if c.MaxOpenFiles < 1 {
		errs.Add("max_open_files", "must be > 0, got %d", c.MaxOpenFiles)
	}
	return errs.Err()
}
