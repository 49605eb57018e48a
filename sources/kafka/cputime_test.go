package kafka

import (
	"time"

	"siemfwd/internal/cputime"
)

// processCPU is the CPU time this process used so far.
func processCPU() time.Duration { return time.Duration(cputime.Process()) }
