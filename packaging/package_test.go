// Package packaging holds the .deb and .rpm packaging (nfpm.yaml, the
// systemd unit, maintainer scripts); its test builds both packages with
// scripts/package.sh and checks what they contain.
package packaging

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The files every package must hold: path → it is a config file.
var packagedFiles = map[string]bool{
	"/usr/bin/siemfwd":                        false,
	"/etc/siemfwd/siemfwd.yaml":               true,
	"/usr/lib/systemd/system/siemfwd.service": false,
}

func buildPackages(t *testing.T) (deb, rpm, binary string) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("./scripts/package.sh", out)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "PKG_VERSION=1.2.3", "PKG_ARCH=amd64")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "scripts/package.sh:\n%s", b)
	debs, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	rpms, _ := filepath.Glob(filepath.Join(out, "*.rpm"))
	require.Len(t, debs, 1, "%s", b)
	require.Len(t, rpms, 1, "%s", b)
	return debs[0], rpms[0], filepath.Join("..", "bin", "package", "siemfwd")
}

func TestPackagesHoldTheBinaryTheConfigAndTheUnit(t *testing.T) {
	deb, rpm, bin := buildPackages(t)

	t.Run("deb", func(t *testing.T) {
		list, err := exec.Command("dpkg-deb", "-c", deb).CombinedOutput()
		require.NoError(t, err, "%s", list)
		for path := range packagedFiles {
			require.Contains(t, string(list), " ."+path+"\n", "dpkg-deb -c lacks %s:\n%s", path, list)
		}
		require.Regexp(t, `(?m)^-rwxr-xr-x .* \./usr/bin/siemfwd$`, string(list))
		conffiles, err := exec.Command("dpkg-deb", "--info", deb, "conffiles").CombinedOutput()
		require.NoError(t, err, "%s", conffiles)
		for path, config := range packagedFiles {
			require.Equal(t, config, strings.Contains(string(conffiles), path+"\n"), "conffiles: %s", conffiles)
		}
		version, err := exec.Command("dpkg-deb", "-f", deb, "Version").CombinedOutput()
		require.NoError(t, err, "%s", version)
		require.Equal(t, "1.2.3", strings.TrimSpace(string(version)))
	})

	t.Run("rpm", func(t *testing.T) {
		b, err := os.ReadFile(rpm)
		require.NoError(t, err)
		files, err := rpmFiles(b)
		require.NoError(t, err)
		for path, config := range packagedFiles {
			flags, ok := files[path]
			require.True(t, ok, "the rpm lacks %s; it has %v", path, files)
			const rpmfileConfig, rpmfileNoReplace = 1 << 0, 1 << 4
			require.Equal(t, config, flags&rpmfileConfig != 0, "%s: config flag", path)
			require.Equal(t, config, flags&rpmfileNoReplace != 0, "%s: noreplace flag", path)
		}
	})

	t.Run("binary", func(t *testing.T) {
		out, err := exec.Command(bin, "version").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "siemfwd 1.2.3")
	})
}

// TestTheUnitVerifies runs systemd-analyze verify on the unit, with the
// binary path pointed at a real executable (verify checks that it exists).
// It fails on any complaint, since verify exits 0 after warnings.
func TestTheUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		how := "systemd-analyze is not installed; the unit is verified where systemd is"
		if os.Getenv("SIEMFWD_TEST_REQUIRE_SERVICES") != "" {
			t.Fatal(how) // make test: CI's machines have systemd, so a skip would hide a missing check
		}
		t.Skip(how)
	}
	unit, err := os.ReadFile("siemfwd.service")
	require.NoError(t, err)
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=siemfwd", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes", "ProtectSystem=strict",
		"ExecStart=/usr/bin/siemfwd run -c /etc/siemfwd/siemfwd.yaml"} {
		require.Contains(t, string(unit), want+"\n")
	}
	self, err := os.Executable()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "siemfwd.service")
	require.NoError(t, os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/bin/siemfwd"), []byte(self)), 0o644))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify complains")
}

// rpmFiles reads an rpm's file list with each file's RPMFILE_* flags: the
// lead (96 bytes), the signature header (padded to 8 bytes), then the main
// header, whose BASENAMES, DIRNAMES, DIRINDEXES and FILEFLAGS tags list the
// files (the format of rpm's lib/header.c and the LSB package format).
func rpmFiles(b []byte) (map[string]uint32, error) {
	const leadSize = 96
	if len(b) < leadSize || !bytes.Equal(b[:4], []byte{0xed, 0xab, 0xee, 0xdb}) {
		return nil, fmt.Errorf("not an rpm")
	}
	_, sigSize, err := rpmHeader(b[leadSize:])
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	off := leadSize + (sigSize+7)/8*8
	tags, _, err := rpmHeader(b[off:])
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	const tagFileFlags, tagDirIndexes, tagBaseNames, tagDirNames = 1037, 1116, 1117, 1118
	base, dirs := tags[tagBaseNames].strings, tags[tagDirNames].strings
	idx, flags := tags[tagDirIndexes].ints, tags[tagFileFlags].ints
	if len(idx) != len(base) || len(flags) != len(base) {
		return nil, fmt.Errorf("file tags disagree: %d names, %d dir indexes, %d flags", len(base), len(idx), len(flags))
	}
	files := map[string]uint32{}
	for i, name := range base {
		if int(idx[i]) >= len(dirs) {
			return nil, fmt.Errorf("dir index %d out of range", idx[i])
		}
		files[dirs[idx[i]]+name] = flags[i]
	}
	return files, nil
}

// rpmTag is one decoded header entry: string arrays or int32 arrays.
type rpmTag struct {
	strings []string
	ints    []uint32
}

// rpmHeader decodes a header structure (magic, entry count, data size,
// 16-byte entries, data) and returns its entries and its length.
func rpmHeader(b []byte) (map[int]rpmTag, int, error) {
	if len(b) < 16 || !bytes.Equal(b[:3], []byte{0x8e, 0xad, 0xe8}) {
		return nil, 0, fmt.Errorf("bad header magic")
	}
	n, size := int(binary.BigEndian.Uint32(b[8:])), int(binary.BigEndian.Uint32(b[12:]))
	total := 16 + 16*n + size
	if total > len(b) {
		return nil, 0, fmt.Errorf("header of %d bytes in %d", total, len(b))
	}
	store := b[16+16*n : total]
	tags := map[int]rpmTag{}
	for i := range n {
		e := b[16+16*i:]
		tag, typ := int(binary.BigEndian.Uint32(e)), binary.BigEndian.Uint32(e[4:])
		at, count := int(binary.BigEndian.Uint32(e[8:])), int(binary.BigEndian.Uint32(e[12:]))
		if at > len(store) {
			return nil, 0, fmt.Errorf("tag %d: offset %d out of range", tag, at)
		}
		const typeInt32, typeStringArray = 4, 8
		switch typ {
		case typeInt32:
			if at+4*count > len(store) {
				return nil, 0, fmt.Errorf("tag %d: int32s out of range", tag)
			}
			var t rpmTag
			for j := range count {
				t.ints = append(t.ints, binary.BigEndian.Uint32(store[at+4*j:]))
			}
			tags[tag] = t
		case typeStringArray:
			parts := strings.SplitN(string(store[at:]), "\x00", count+1)
			if len(parts) < count+1 {
				return nil, 0, fmt.Errorf("tag %d: strings out of range", tag)
			}
			tags[tag] = rpmTag{strings: parts[:count]}
		}
	}
	return tags, total, nil
}
