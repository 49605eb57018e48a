package mailflow

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time of the calling OS thread in nanoseconds.
// Benchmarks report it beside ns/op: wall time means little on a shared machine.
func threadCPU() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_THREAD, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func lockThread()   { runtime.LockOSThread() }
func unlockThread() { runtime.UnlockOSThread() }
