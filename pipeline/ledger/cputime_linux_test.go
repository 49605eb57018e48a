package ledger

import "golang.org/x/sys/unix"

// processCPU returns the CPU time of the whole process in nanoseconds.
// Parallel benchmarks report it per operation alongside ns/op, because
// wall-clock time means little on a shared, busy machine.
func processCPU() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
