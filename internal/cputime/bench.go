package cputime

import (
	"runtime"
	"testing"
)

// Bench runs op(i) for i = 0, 1, … as b's loop, on one locked OS thread, and
// reports that thread's CPU time per op as cpu-ns/op beside ns/op: on a busy
// machine other load inflates wall-clock time far more than CPU time.
func Bench(b *testing.B, op func(i int)) {
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := Thread()
	n := 0
	for b.Loop() {
		op(n)
		n++
	}
	if cpu := Thread() - start; cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu)/float64(n), "cpu-ns/op")
	}
}
