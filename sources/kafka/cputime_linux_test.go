package kafka

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU returns the CPU time (user and system) of this process.
// Benchmarks report it per event, because wall-clock time means little on
// a shared, busy machine.
func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
