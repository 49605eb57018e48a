package syslog

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCharsetIsCheckedAndReachesTheOrigin(t *testing.T) {
	for _, name := range []string{"utf-8", "", "windows-1250", "windows-1252", "ISO-8859-2", "cp1250"} {
		cfg := DefaultConfig()
		cfg.Charset = name
		require.NoError(t, cfg.Validate(), name)
		s, err := newSenders("syslog_udp", cfg)
		require.NoError(t, err)
		if name == "utf-8" || name == "" {
			require.Nil(t, s.base.Charset, "UTF-8 needs no decoder")
		} else {
			require.NotNil(t, s.base.Charset, name)
		}
	}
	cfg := DefaultConfig()
	require.Equal(t, "utf-8", cfg.Charset)
	for name, want := range map[string]string{
		"klingon": `charset: unknown character set "klingon"`,
		"utf-16":  `charset: character set "utf-16" does not keep ASCII as ASCII`,
	} {
		cfg.Charset = name
		require.ErrorContains(t, cfg.Validate(), want)
	}
}
