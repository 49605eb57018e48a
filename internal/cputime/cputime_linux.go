// Package cputime reads CPU time for benchmarks: on a shared, busy machine
// the CPU a benchmark used says more than the wall-clock time it took.
package cputime

import "golang.org/x/sys/unix"

// Thread returns the CPU time of the calling OS thread in nanoseconds, or 0
// when it cannot be read. Lock the goroutine to its thread around the
// measurement (runtime.LockOSThread).
func Thread() int64 { return usage(unix.RUSAGE_THREAD) }

// Process returns the CPU time of the whole process in nanoseconds, or 0.
func Process() int64 { return usage(unix.RUSAGE_SELF) }

func usage(who int) int64 {
	var ru unix.Rusage
	if unix.Getrusage(who, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
