//go:build !unix

// Package flock takes the exclusive directory locks of the disk buffer and
// the file source's state: a kernel lock that a crash cannot leave behind.
package flock

import (
	"errors"
	"os"
)

// TryLock reports that locks are unavailable: without flock, two siemfwd
// could share a directory unnoticed, so the disk buffer and the file
// source refuse to start here (Linux is the production platform).
func TryLock(*os.File) (busy bool, err error) {
	return false, errors.New("directory locks (flock) are available on Linux and macOS only")
}
