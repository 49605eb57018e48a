//go:build !linux

package kafka

import "time"

// processCPU is not measured outside Linux; the metric then reads 0.
func processCPU() time.Duration { return 0 }
