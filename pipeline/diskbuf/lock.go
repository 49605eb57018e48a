package diskbuf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"siemfwd/internal/flock"
)

// ErrLocked means another Buffer, in this process or another, has the
// directory open. Two writers on one log would interleave their records and
// delete each other's segments.
var ErrLocked = errors.New("disk buffer directory is in use")

// lockDir takes an exclusive flock on dir/lock. The kernel releases it when
// the descriptor is closed or the process dies, so a crash leaves no stale
// lock. The file keeps the holder's pid for the message of whoever tries next.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if busy, err := flock.TryLock(f); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if busy {
			pid := strings.TrimSpace(string(b[:n]))
			if pid == "" {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%w (held by pid %s)", ErrLocked, pid)
		}
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
