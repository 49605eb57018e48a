//go:build !linux

// Package cputime reads CPU time for benchmarks: on a shared, busy machine
// the CPU a benchmark used says more than the wall-clock time it took.
package cputime

// Thread returns 0: per-thread CPU time is read only on Linux.
func Thread() int64 { return 0 }

// Process returns 0: process CPU time is read only on Linux.
func Process() int64 { return 0 }
