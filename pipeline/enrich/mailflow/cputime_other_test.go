//go:build !linux

package mailflow

func threadCPU() int64 { return 0 }
func lockThread()      {}
func unlockThread()    {}
