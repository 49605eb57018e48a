package pipeline

import (
	"time"

	"siemfwd/internal/confcheck"
	"siemfwd/pipeline/diskbuf"
)

// Config tunes the worker pool and the shutdown.
type Config struct {
	// Workers is the number of parse workers; 0 means GOMAXPROCS.
	Workers int `mapstructure:"workers"`
	// QueueBatches bounds the queue between the sources and the workers, in batches
	// (a batch holds up to a source's batch size, 256 events by default).
	QueueBatches int `mapstructure:"queue_batches"`
	// ShutdownTimeout bounds the whole drain on SIGTERM; after it, what is still
	// queued is abandoned and logged.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	// DataDir holds the sinks' disk buffers (DataDir/buffer/<sink>); required
	// when a sink has buffer.type disk.
	DataDir string `mapstructure:"data_dir"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{QueueBatches: 64, ShutdownTimeout: 30 * time.Second}
}

// Validate reports every problem, each with its key.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if c.Workers < 0 {
		errs.Add("workers", "must be >= 0 (0 = one per CPU), got %d", c.Workers)
	}
	if c.QueueBatches <= 0 {
		errs.Add("queue_batches", "must be > 0, got %d", c.QueueBatches)
	}
	errs.Positive("shutdown_timeout", c.ShutdownTimeout)
	return errs.Err()
}

// When a sink's queue is full.
const (
	WhenFullBlock      = "block"       // wait: backpressure reaches TCP and file readers
	WhenFullDropNewest = "drop_newest" // drop the incoming batch for this sink, counted
)

// SinkConfig is what every sink has, whatever its type: its queue, batching,
// retry and route.
type SinkConfig struct {
	// QueueBatches bounds the sink's own queue, in batches.
	QueueBatches int `mapstructure:"queue_batches"`
	// WhenFull is "block" (default) or "drop_newest".
	WhenFull string `mapstructure:"when_full"`
	// MaxEvents caps one Write call (whole source batches are added while below it).
	MaxEvents int `mapstructure:"max_events"`
	// Linger is how long to wait for more events before a Write that is below
	// MaxEvents; 0 writes whatever is queued at once.
	Linger time.Duration `mapstructure:"linger"`
	// RetryInitial and RetryMax bound the jittered exponential backoff between
	// retries of transient failures. Retries continue until success or
	// shutdown. RetryMax is also how long delivery may stay stalled after a
	// destination comes back, so it is short by default (2s).
	RetryInitial time.Duration `mapstructure:"retry_initial"`
	RetryMax     time.Duration `mapstructure:"retry_max"`
	// Route selects the events this sink takes; empty takes everything.
	Route Route `mapstructure:"route"`
	// Buffer is where the sink's queue lives: in memory (lost on a crash;
	// sources that can replay re-read it) or on disk (survives crashes and
	// long outages up to max_bytes).
	Buffer BufferConfig `mapstructure:"buffer"`
}

// BufferConfig chooses and sizes a sink's buffer.
type BufferConfig struct {
	// Type is memory (the bounded queue only) or disk.
	Type string `mapstructure:"type"`
	// MaxBytes bounds what the disk buffer holds unacknowledged.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// SegmentBytes is the size at which a new segment file starts.
	SegmentBytes int64 `mapstructure:"segment_bytes"`
	// Sync is batch (fsync before a batch is acknowledged to its source) or
	// interval (fsync every SyncInterval; a power cut may lose that much).
	Sync string `mapstructure:"sync"`
	// SyncInterval is the fsync period for sync: interval.
	SyncInterval time.Duration `mapstructure:"sync_interval"`
}

// Disk returns the disk buffer's settings.
func (c BufferConfig) Disk() diskbuf.Config {
	d := diskbuf.DefaultConfig()
	d.MaxBytes, d.SegmentBytes, d.Sync, d.SyncInterval = c.MaxBytes, c.SegmentBytes, c.Sync, c.SyncInterval
	return d
}

func defaultBuffer() BufferConfig {
	d := diskbuf.DefaultConfig()
	return BufferConfig{Type: "memory", MaxBytes: 1 << 30, SegmentBytes: d.SegmentBytes, Sync: d.Sync, SyncInterval: d.SyncInterval}
}

// DefaultSinkConfig returns the defaults.
func DefaultSinkConfig() SinkConfig {
	return SinkConfig{QueueBatches: 64, WhenFull: WhenFullBlock, MaxEvents: 2048,
		RetryInitial: 100 * time.Millisecond, RetryMax: 2 * time.Second, Buffer: defaultBuffer()}
}

// Validate reports every problem, each with its key.
func (c SinkConfig) Validate() error {
	var errs confcheck.Problems
	if c.QueueBatches <= 0 {
		errs.Add("queue_batches", "must be > 0, got %d", c.QueueBatches)
	}
	if c.WhenFull != WhenFullBlock && c.WhenFull != WhenFullDropNewest {
		errs.Add("when_full", "must be %q or %q, got %q", WhenFullBlock, WhenFullDropNewest, c.WhenFull)
	}
	if c.MaxEvents <= 0 {
		errs.Add("max_events", "must be > 0, got %d", c.MaxEvents)
	}
	if c.Linger < 0 {
		errs.Add("linger", "must be >= 0, got %s", c.Linger)
	}
	errs.Positive("retry_initial", c.RetryInitial)
	if c.RetryMax < c.RetryInitial {
		errs.Add("retry_max", "must be >= retry_initial (%s), got %s", c.RetryInitial, c.RetryMax)
	}
	switch c.Buffer.Type {
	case "memory":
	case "disk":
		errs.Under("buffer", c.Buffer.Disk().Validate())
	default:
		errs.Add("buffer.type", "must be memory or disk, got %q", c.Buffer.Type)
	}
	return errs.Err()
}
