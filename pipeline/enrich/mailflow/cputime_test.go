package mailflow

import (
	"runtime"

	"siemfwd/internal/cputime"
)

// threadCPU is the calling thread's CPU time; benchmarks report it beside ns/op.
var threadCPU = cputime.Thread

func lockThread()   { runtime.LockOSThread() }
func unlockThread() { runtime.UnlockOSThread() }
