package diskbuf

import (
	"time"

	"siemfwd/internal/confcheck"
)

// Sync modes: when appended records are forced to stable storage.
const (
	// SyncBatch fsyncs before Append returns: an Append that returned nil
	// survives a power cut. Concurrent Appends share one fsync.
	SyncBatch = "batch"
	// SyncInterval fsyncs from a background goroutine every SyncInterval;
	// Append returns after write(2). A process crash loses nothing (the data
	// is in the page cache); a power cut loses at most the last interval.
	SyncInterval = "interval"
)

// minSegmentBytes keeps segments from being so small that the per-file cost
// (create, fsync, directory fsync) dominates.
const minSegmentBytes = 4096

// Config tunes one buffer. Sizes are bytes on disk, framing included.
type Config struct {
	// MaxBytes bounds the unacknowledged data on disk. Append refuses a batch
	// that would go over it with ErrFull. Required: how much disk a sink may
	// fill during an outage is a site decision. The files can hold up to two
	// segments more than this (acknowledged records of a segment that still
	// has unacknowledged ones, or of the segment being written, which may be
	// a reused file of full size; and the spare file kept for reuse).
	MaxBytes int64 `mapstructure:"max_bytes"`
	// SegmentBytes is the size at which a new segment file is started. A
	// segment is deleted once all its records are acknowledged.
	SegmentBytes int64 `mapstructure:"segment_bytes"`
	// Sync is "batch" (fsync before Append returns) or "interval" (fsync
	// every SyncInterval in the background).
	Sync string `mapstructure:"sync"`
	// SyncInterval is the period of the background fsync when Sync is "interval".
	SyncInterval time.Duration `mapstructure:"sync_interval"`
	// AckSyncInterval is how often, at most, the acknowledged position is
	// written to disk (it is always written on Close). After a crash, the
	// records acknowledged since the last write are delivered again. 0 writes
	// it on every Ack, before Ack returns.
	AckSyncInterval time.Duration `mapstructure:"ack_sync_interval"`
}

// DefaultConfig returns the defaults. MaxBytes has none and must be set.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:    64 << 20,
		Sync:            SyncInterval,
		SyncInterval:    100 * time.Millisecond,
		AckSyncInterval: time.Second,
	}
}

// Validate reports every problem, each with its key.
func (c Config) Validate() error {
	var errs confcheck.Problems
	if c.MaxBytes <= 0 {
		errs.Add("max_bytes", "required, must be > 0, got %d", c.MaxBytes)
	}
	if c.SegmentBytes < minSegmentBytes {
		errs.Add("segment_bytes", "must be >= %d, got %d", minSegmentBytes, c.SegmentBytes)
	} else if c.MaxBytes > 0 && c.SegmentBytes > c.MaxBytes {
		errs.Add("segment_bytes", "must be <= max_bytes (%d), got %d", c.MaxBytes, c.SegmentBytes)
	}
	switch c.Sync {
	case SyncBatch:
	case SyncInterval:
		if c.SyncInterval <= 0 {
			errs.Add("sync_interval", "must be > 0 when sync is %q, got %s", SyncInterval, c.SyncInterval)
		}
	default:
		errs.Add("sync", "must be %q or %q, got %q", SyncBatch, SyncInterval, c.Sync)
	}
	if c.AckSyncInterval < 0 {
		errs.Add("ack_sync_interval", "must be >= 0 (0 = on every ack), got %s", c.AckSyncInterval)
	}
	return errs.Err()
}
