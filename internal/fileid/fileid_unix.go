//go:build unix

// Package fileid reads a file's identity (device, inode) and link count,
// which tell rotation and certificate changes apart where the system keeps
// them (Unix); elsewhere they are unknown.
package fileid

import (
	"os"
	"syscall"
)

// ID is a file's device, inode and hard-link count.
type ID struct{ Dev, Ino, Nlink uint64 }

// Of returns fi's identity; ok is false when the system does not say.
func Of(fi os.FileInfo) (id ID, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ID{}, false
	}
	return ID{Dev: uint64(st.Dev), Ino: st.Ino, Nlink: uint64(st.Nlink)}, true //nolint:unconvert // the types differ by platform
}
