package file

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The configured charset reaches the events' origin by name; the workers
// decode with it.
func TestCharsetIsCheckedAndReachesTheOrigin(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.log"), "P\xf8ihl\xe1\x9aen\xed\n")
	cfg := testConfig(t, dir)
	require.Equal(t, "utf-8", DefaultConfig().Charset)
	cfg.Charset = "windows-1250"
	h := start(t, cfg, false)
	ev := h.waitEvents(1)[0]
	require.NoError(t, h.stop())
	require.Equal(t, "windows-1250", ev.Origin.Charset)

	cfg.Charset = "klingon"
	require.ErrorContains(t, cfg.Validate(), `charset: unknown character set "klingon"`)
}
