package charset

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestDecodeFromEachCharset(t *testing.T) {
	for _, tt := range []struct {
		charset string
		in      []byte
		want    string
	}{
		{"windows-1250", []byte("P\xf8ihl\xe1\x9aen\xed u\x9eivatele"), "Přihlášení uživatele"},
		{"cp1250", []byte("\x8a\x8d\x8e \x9a\x9d\x9e"), "ŠŤŽ šťž"},
		{"windows-1252", []byte("caf\xe9 cr\xe8me \x80 5"), "café crème € 5"},
		{"ISO-8859-2", []byte("P\xf8ihl\xe1\xb9en\xed u\xbeivatele"), "Přihlášení uživatele"},
		{"latin2", []byte("\xa9\xab\xae"), "ŠŤŽ"},
		{"iso-8859-1", []byte("Gr\xfc\xdfe \x85"), "Grüße \u0085"},
		{"koi8-r", []byte("\xf0\xd2\xc9\xd7\xc5\xd4"), "Привет"},
	} {
		t.Run(tt.charset, func(t *testing.T) {
			cs, err := Lookup(tt.charset)
			require.NoError(t, err)
			require.NotNil(t, cs)
			in := append([]byte(nil), tt.in...)
			got, replaced := Decode(in, cs)
			require.Equal(t, tt.want, string(got))
			require.False(t, replaced)
			require.Equal(t, tt.in, in, "the input is not modified")
		})
	}
}

func TestUndefinedBytesOfACharsetAreReplaced(t *testing.T) {
	cs, err := Lookup("windows-1250")
	require.NoError(t, err)
	got, replaced := Decode([]byte("a\x81b"), cs) // 0x81 is unassigned in windows-1250
	require.Equal(t, "a\uFFFDb", string(got))
	require.True(t, replaced)
}

func TestInvalidUTF8BecomesReplacementCharacters(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
	}{
		{"Latin-1 bytes", "caf\xe9 cr\xe8me", "caf\uFFFD cr\uFFFDme"},
		{"one per byte", "\xff\xfe garbage \xc3", "\uFFFD\uFFFD garbage \uFFFD"},
		{"a cut sequence", "\xe2\x82 euro", "\uFFFD\uFFFD euro"},
		{"valid text around it survives", "Přihlášení \x9a ok", "Přihlášení \uFFFD ok"},
		{"surrogate", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, replaced := Decode([]byte(tt.in), nil)
			require.Equal(t, tt.want, string(got))
			require.True(t, replaced)
			require.True(t, utf8.Valid(got))
		})
	}
	got, replaced := Decode([]byte("plain ✓"), nil)
	require.Equal(t, "plain ✓", string(got))
	require.False(t, replaced)
}

func TestLookup(t *testing.T) {
	for _, name := range []string{"", "utf-8", "UTF-8", "utf8", " utf-8 "} {
		cs, err := Lookup(name)
		require.NoError(t, err, name)
		require.Nil(t, cs, "%q is UTF-8, the default", name)
	}
	_, err := Lookup("klingon")
	require.EqualError(t, err, `unknown character set "klingon": use an IANA or WHATWG name such as "utf-8", "windows-1250", "windows-1252" or "iso-8859-2"`)
	for _, name := range []string{"utf-16", "UTF-16LE", "iso-2022-jp"} {
		_, err := Lookup(name)
		require.ErrorContains(t, err, "does not keep ASCII as ASCII", name)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{"caf\xe9", "\xff\xfe", "P\xf8ihl\xe1\x9aen\xed", "ok", "\xe2\x82"} {
		f.Add([]byte(s), "windows-1250")
		f.Add([]byte(s), "")
	}
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		cs, err := Lookup(name)
		if err != nil {
			return
		}
		in := append([]byte(nil), b...)
		got, _ := Decode(b, cs)
		if !utf8.Valid(got) {
			t.Fatalf("Decode(%q, %q) = %q: not UTF-8", b, name, got)
		}
		if string(in) != string(b) {
			t.Fatal("input modified")
		}
	})
}
