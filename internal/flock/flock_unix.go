//go:build unix

// Package flock takes the exclusive directory locks of the disk buffer and
// the file source's state: a kernel lock that a crash cannot leave behind.
package flock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// TryLock takes an exclusive flock on f without waiting. busy reports that
// another descriptor (in this process or another) holds it.
func TryLock(f *os.File) (busy bool, err error) {
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	return errors.Is(err, unix.EWOULDBLOCK), err
}
