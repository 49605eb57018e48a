package fileid

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOfTellsFilesApart(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(a, nil, 0o600))
	require.NoError(t, os.WriteFile(b, nil, 0o600))
	fa, err := os.Stat(a)
	require.NoError(t, err)
	fb, err := os.Stat(b)
	require.NoError(t, err)
	ia, ok := Of(fa)
	if runtime.GOOS == "windows" {
		require.False(t, ok)
		return
	}
	require.True(t, ok)
	ib, _ := Of(fb)
	require.NotEqual(t, ia.Ino, ib.Ino)
	require.Equal(t, uint64(1), ia.Nlink)
	require.NoError(t, os.Link(a, filepath.Join(dir, "c")))
	fa, err = os.Stat(a)
	require.NoError(t, err)
	again, _ := Of(fa)
	require.Equal(t, ia.Ino, again.Ino)
	require.Equal(t, uint64(2), again.Nlink)
}
