//go:build !unix

// Package fileid reads a file's identity (device, inode) and link count,
// which tell rotation and certificate changes apart where the system keeps
// them (Unix); elsewhere they are unknown.
package fileid

import "os"

// ID is a file's device, inode and hard-link count.
type ID struct{ Dev, Ino, Nlink uint64 }

// Of reports that this system gives no identity: callers fall back to
// names, sizes and times.
func Of(os.FileInfo) (id ID, ok bool) { return ID{}, false }
