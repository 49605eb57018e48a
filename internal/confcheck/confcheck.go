// Package confcheck collects a configuration's problems. Each problem names
// its key and the reason, as in "sinks.es.max_events: must be > 0, got 0",
// and a Validate method reports all of them at once (errors.Join), so one
// run of siemfwd -check-config shows every mistake in a file.
//
// A section's Validate names keys relative to itself; the section that
// holds it puts its own key in front with Under, up to the top-level
// Config, whose keys are the file's.
package confcheck

import (
	"errors"
	"fmt"
	"time"
)

// Problems is a configuration's problems so far; the zero value has none.
type Problems struct {
	errs []error
}

// Add records a problem of key; format and args give the reason.
func (p *Problems) Add(key, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// Under records the problems that err lists (a nested section's Validate
// result, nil for none), each under key: "buffer" and "max_bytes: …"
// become "buffer.max_bytes: …".
func (p *Problems) Under(key string, err error) {
	for _, e := range List(err) {
		p.errs = append(p.errs, fmt.Errorf("%s.%w", key, e))
	}
}

// Include records the problems that err lists as they are: their keys
// are already full.
func (p *Problems) Include(err error) {
	p.errs = append(p.errs, List(err)...)
}

// Positive records "must be > 0" for the duration key unless v is.
func (p *Problems) Positive(key string, v time.Duration) {
	if v <= 0 {
		p.Add(key, "must be > 0, got %s", v)
	}
}

// Err returns every problem, joined; nil when there is none.
func (p *Problems) Err() error { return errors.Join(p.errs...) }

// Under puts key in front of every problem that err lists; nil stays nil.
func Under(key string, err error) error {
	var p Problems
	p.Under(key, err)
	return p.Err()
}

// List returns the problems that err joins, nested joins flattened, in
// order; nil for nil. It is how problems are printed one per line.
func List(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, List(e)...)
	}
	return out
}
