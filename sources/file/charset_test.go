package file

import (
	"testing"

	"github.com/stretchr/testify/require"

	"siemfwd/pipeline/metrics"
)

func TestCharsetIsChecked(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Paths, cfg.StateDir = []string{"x/*.log"}, t.TempDir()
	require.Equal(t, "utf-8", cfg.Charset)
	cfg.Charset = "windows-1250"
	s, err := New("files", cfg, nil, metrics.New())
	require.NoError(t, err)
	require.NotNil(t, s.cs)
	cfg.Charset = "klingon"
	require.ErrorContains(t, cfg.Validate(), `charset: unknown character set "klingon"`)
}
