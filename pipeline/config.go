package pipeline

import (
	"errors"
	"fmt"
	"time"
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
	// KeepOriginal puts the raw message into event.original.
	KeepOriginal bool `mapstructure:"keep_original"`
	// Namespace is data_stream.namespace (Elasticsearch data stream naming).
	Namespace string `mapstructure:"namespace"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{QueueBatches: 64, ShutdownTimeout: 30 * time.Second, KeepOriginal: true, Namespace: "default"}
}

// Validate reports every problem, each with its key.
func (c Config) Validate() error {
	var errs []error
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("workers: must be >= 0 (0 = one per CPU), got %d", c.Workers))
	}
	if c.QueueBatches <= 0 {
		errs = append(errs, fmt.Errorf("queue_batches: must be > 0, got %d", c.QueueBatches))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown_timeout: must be > 0, got %s", c.ShutdownTimeout))
	}
	if !validNamespace(c.Namespace) {
		errs = append(errs, fmt.Errorf("namespace: must be 1-100 lower-case characters without \\/*?\"<>| ,# or '-', got %q", c.Namespace))
	}
	return errors.Join(errs...)
}

func validNamespace(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			return false
		case r == '\\' || r == '/' || r == '*' || r == '?' || r == '"' || r == '<' || r == '>' || r == '|' || r == ' ' || r == ',' || r == '#' || r == '-':
			return false
		}
	}
	return true
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
	// retries of transient failures. Retries continue until success or shutdown.
	RetryInitial time.Duration `mapstructure:"retry_initial"`
	RetryMax     time.Duration `mapstructure:"retry_max"`
	// Route selects the events this sink takes; empty takes everything.
	Route Route `mapstructure:"route"`
}

// DefaultSinkConfig returns the defaults.
func DefaultSinkConfig() SinkConfig {
	return SinkConfig{QueueBatches: 64, WhenFull: WhenFullBlock, MaxEvents: 2048,
		RetryInitial: 100 * time.Millisecond, RetryMax: 30 * time.Second}
}

// Validate reports every problem, each with its key.
func (c SinkConfig) Validate() error {
	var errs []error
	if c.QueueBatches <= 0 {
		errs = append(errs, fmt.Errorf("queue_batches: must be > 0, got %d", c.QueueBatches))
	}
	if c.WhenFull != WhenFullBlock && c.WhenFull != WhenFullDropNewest {
		errs = append(errs, fmt.Errorf("when_full: must be %q or %q, got %q", WhenFullBlock, WhenFullDropNewest, c.WhenFull))
	}
	if c.MaxEvents <= 0 {
		errs = append(errs, fmt.Errorf("max_events: must be > 0, got %d", c.MaxEvents))
	}
	if c.Linger < 0 {
		errs = append(errs, fmt.Errorf("linger: must be >= 0, got %s", c.Linger))
	}
	if c.RetryInitial <= 0 {
		errs = append(errs, fmt.Errorf("retry_initial: must be > 0, got %s", c.RetryInitial))
	}
	if c.RetryMax < c.RetryInitial {
		errs = append(errs, fmt.Errorf("retry_max: must be >= retry_initial (%s), got %s", c.RetryInitial, c.RetryMax))
	}
	return errors.Join(errs...)
}
