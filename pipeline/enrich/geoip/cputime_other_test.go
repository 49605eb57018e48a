//go:build !linux

package geoip

func threadCPU() int64 { return 0 }
func lockThread()      {}
func unlockThread()    {}
