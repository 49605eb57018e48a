package flock

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTryLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	a, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer a.Close()
	busy, err := TryLock(a)
	if runtime.GOOS == "windows" {
		require.Error(t, err)
		return
	}
	require.NoError(t, err)
	require.False(t, busy)

	b, err := os.OpenFile(path, os.O_RDWR, 0o600)
	require.NoError(t, err)
	defer b.Close()
	busy, err = TryLock(b)
	require.Error(t, err)
	require.True(t, busy, "a second descriptor finds it held")

	require.NoError(t, a.Close())
	busy, err = TryLock(b)
	require.NoError(t, err, "closing the holder frees it")
	require.False(t, busy)
}
