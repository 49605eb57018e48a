//go:build !linux

package ledger

// processCPU is not measured on this system; benchmarks then report 0.
func processCPU() int64 { return 0 }
