//go:build !linux

package kerio

func threadCPU() int64 { return 0 }
func lockThread()      {}
func unlockThread()    {}
