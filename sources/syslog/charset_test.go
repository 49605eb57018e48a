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
		require.Equal(t, name, s.base.Charset, "the workers decode with the configured name")
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

func TestProfileCharsetOverridesTheSources(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Charset = "windows-1252"
	cfg.Profiles = []ProfileConfig{
		{Name: "czech", Match: MatchConfig{Addresses: []string{"10.0.0.1"}}, Charset: "windows-1250"},
		{Name: "modern", Match: MatchConfig{Addresses: []string{"10.0.0.2"}}, Charset: "utf-8"},
		{Name: "inherits", Match: MatchConfig{Addresses: []string{"10.0.0.3"}}},
	}
	require.NoError(t, cfg.Validate())
	s, err := newSenders("syslog_udp", cfg)
	require.NoError(t, err)
	require.Equal(t, "windows-1250", s.origins[0].Charset)
	require.Equal(t, "utf-8", s.origins[1].Charset, "utf-8 turns the source's charset off")
	require.Equal(t, "windows-1252", s.origins[2].Charset, "no charset keeps the source's")

	cfg.Profiles[0].Charset = "klingon"
	require.ErrorContains(t, cfg.Validate(), `profiles[0].charset: unknown character set "klingon"`)
}
