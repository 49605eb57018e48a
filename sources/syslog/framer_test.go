package syslog

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// frameAll reads every frame of input with the given max.
func frameAll(t testing.TB, input string, maxBytes int) ([]string, []FrameInfo, error) {
	t.Helper()
	return frameReader(t, strings.NewReader(input), maxBytes)
}

func frameReader(t testing.TB, r io.Reader, maxBytes int) ([]string, []FrameInfo, error) {
	t.Helper()
	fr := NewFramer(bufio.NewReaderSize(r, 16), maxBytes) // tiny buffer: frames span refills
	var frames []string
	var infos []FrameInfo
	for range 10000 {
		b, info, err := fr.Next(nil)
		if err != nil {
			require.Empty(t, b, "a frame returned with an error")
			return frames, infos, err
		}
		frames = append(frames, string(b))
		infos = append(infos, info)
	}
	t.Fatal("framer did not reach the end of the input")
	return nil, nil, nil
}

func TestFramer(t *testing.T) {
	octet := FrameInfo{Octet: true}
	tests := []struct {
		name   string
		input  string
		max    int
		frames []string
		infos  []FrameInfo // nil: all zero
	}{
		{name: "lf", input: "<13>a\n<13>b\n", frames: []string{"<13>a", "<13>b"}},
		{name: "crlf", input: "<13>a\r\n<13>b\r\n", frames: []string{"<13>a", "<13>b"}},
		{name: "nul", input: "<13>a\x00<13>b\x00", frames: []string{"<13>a", "<13>b"}},
		{name: "nul and lf", input: "<13>a\x00\n<13>b\n", frames: []string{"<13>a", "<13>b"}},
		{name: "blank lines skipped", input: "\n\r\n\x00<13>a\n\n", frames: []string{"<13>a"}},
		{name: "last line unterminated", input: "<13>a\n<13>b", frames: []string{"<13>a", "<13>b"}},
		{name: "cr inside kept", input: "a\rb\n", frames: []string{"a\rb"}},
		{
			name: "octet", input: "5 <13>a5 <13>b", frames: []string{"<13>a", "<13>b"},
			infos: []FrameInfo{octet, octet},
		},
		{
			name: "octet keeps LF and trailing bytes", input: "5 a\nb\r\n\n3 xyz",
			frames: []string{"a\nb\r\n", "xyz"}, infos: []FrameInfo{octet, octet},
		},
		{
			name: "octet then LF after each", input: "5 <13>a\n5 <13>b\n", frames: []string{"<13>a", "<13>b"},
			infos: []FrameInfo{octet, octet},
		},
		{
			name: "mixed: lf connection with an octet frame", input: "<13>a\n5 <13>b<13>c\n",
			frames: []string{"<13>a", "<13>b", "<13>c"}, infos: []FrameInfo{{}, octet, {}},
		},
		{
			name: "octet connection loses sync", input: "5 <13>a<13>b\n",
			frames: []string{"<13>a", "<13>b"}, infos: []FrameInfo{octet, {BadFrame: true}},
		},
		{
			name: "lf line starting with a date is no bad frame", input: "2026-04-01 a\n",
			frames: []string{"2026-04-01 a"},
		},
		{
			name: "zero count", input: "0 <13>a\n5 <13>b",
			frames: []string{"0 <13>a", "<13>b"}, infos: []FrameInfo{{BadFrame: true}, octet},
		},
		{
			name: "count above hard cap", input: "99999999 <13>a\n",
			frames: []string{"99999999 <13>a"}, infos: []FrameInfo{{BadFrame: true}},
		},
		{
			name: "too many digits", input: "1234567890123 x\n",
			frames: []string{"1234567890123 x"}, infos: []FrameInfo{{BadFrame: true}},
		},
		{
			name: "bare number in octet connection", input: "3 abc42\n",
			frames: []string{"abc", "42"}, infos: []FrameInfo{octet, {BadFrame: true}},
		},
		{
			name: "octet short at EOF", input: "10 abc",
			frames: []string{"abc"}, infos: []FrameInfo{{Octet: true, Incomplete: true}},
		},
		{
			name: "lf truncated, next intact", input: "abcdefgh\nxy\n", max: 4,
			frames: []string{"abcd", "xy"}, infos: []FrameInfo{{Truncated: true}, {}},
		},
		{
			name: "lf exactly max with crlf", input: "abcd\r\nxy\n", max: 4,
			frames: []string{"abcd", "xy"},
		},
		{
			name: "lf max+1 is cut", input: "abcde\r\n", max: 4,
			frames: []string{"abcd"}, infos: []FrameInfo{{Truncated: true}},
		},
		{
			// Issue 13, finding 4: a count above max swallowed the frames
			// behind it and discarded them as the rest of a truncated frame.
			name: "count above max is not believed", input: "8 <1>abcdefgh6 <2>xyz", max: 6,
			frames: []string{"8 <1>a", "<2>xyz"}, infos: []FrameInfo{{BadFrame: true, Truncated: true}, octet},
		},
		{
			name: "count of 64 MiB", input: "67108864 <13>x5 <1>ab5 <1>cd",
			frames: []string{"67108864 <13>x", "<1>ab", "<1>cd"}, infos: []FrameInfo{{BadFrame: true}, octet, octet},
		},
		{
			// Issue 13, finding 4: a lying count within max made one event
			// of every frame it covered.
			name: "count that lies within max", input: "30 <13>x5 <1>ab5 <1>cd",
			frames: []string{"<13>x", "<1>ab", "<1>cd"}, infos: []FrameInfo{{Octet: true, BadFrame: true}, octet, octet},
		},
		{
			name:   "lying frame ends in digits: the count that leads to the next header wins",
			input:  "40 <13>port 225 <1>ab5 <1>cd",
			frames: []string{"<13>port 22", "<1>ab", "<1>cd"}, infos: []FrameInfo{{Octet: true, BadFrame: true}, octet, octet},
		},
		{
			name: "body without PRI on a connection whose frames have one", input: "5 <1>ab3 xyz5 <1>cd",
			frames: []string{"<1>ab", "3 xyz", "<1>cd"}, infos: []FrameInfo{octet, {BadFrame: true}, octet},
		},
		{
			name: "frames without PRI are fine when the connection never sends one", input: "2 ab2 cd",
			frames: []string{"ab", "cd"}, infos: []FrameInfo{octet, octet},
		},
		{
			name: "junk then octet frames", input: "junk5 <1>ab5 <1>cd",
			frames: []string{"junk", "<1>ab", "<1>cd"}, infos: []FrameInfo{{BadFrame: true}, octet, octet},
		},
		{
			name: "overlong junk is cut, the frame behind it is found", input: "junk junk junk5 <1>ab", max: 6,
			frames: []string{"junk j", "<1>ab"}, infos: []FrameInfo{{BadFrame: true, Truncated: true}, octet},
		},
		{
			name: "lf line with a frame header inside", input: "<13>a 5 <1>ab\n",
			frames: []string{"<13>a ", "<1>ab"}, infos: []FrameInfo{{BadFrame: true}, octet},
		},
		{
			name: "text that only looks like a header", input: "<13>a 5 <x> 5 < 1> 5 <1234> 2000 <1> 0 <1>\n",
			frames: []string{"<13>a 5 <x> 5 < 1> 5 <1234> 2000 <1> 0 <1>"},
		},
		{
			name: "long line spanning many buffer refills", input: strings.Repeat("z", 1000) + "\nok\n", max: 10,
			frames: []string{strings.Repeat("z", 10), "ok"}, infos: []FrameInfo{{Truncated: true}, {}},
		},
		{
			name: "binary garbage", input: "\xff\xfe\x01\x02\n\x00\x00\x80\n",
			frames: []string{"\xff\xfe\x01\x02", "\x80"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			maxBytes := tt.max
			if maxBytes == 0 {
				maxBytes = 1024
			}
			frames, infos, err := frameAll(t, tt.input, maxBytes)
			require.ErrorIs(t, err, io.EOF)
			require.Equal(t, tt.frames, frames)
			want := tt.infos
			if want == nil {
				want = make([]FrameInfo, len(tt.frames))
			}
			require.Equal(t, want, infos)
		})
	}
}

// TestFramerOneByteReads checks that frames do not depend on how the
// stream is split into reads.
func TestFramerOneByteReads(t *testing.T) {
	input := "5 <13>a<13>b\r\n9 <13>c\nd\r\n\x00<13>e\n50 <13>f12 <13>g5 <1>hi5 <1>jk"
	frames, _, err := frameReader(t, iotest.OneByteReader(strings.NewReader(input)), 64)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, []string{"<13>a", "<13>b", "<13>c\nd\r\n", "<13>e", "<13>f", "<13>g", "<1>hi", "<1>jk"}, frames)
}

// TestFramerReadError checks that a partial frame is returned before the
// error, flagged incomplete, and that the error sticks.
func TestFramerReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("<13>a\n<13>par"), iotest.ErrReader(boom))
	fr := NewFramer(bufio.NewReader(r), 64)
	b, info, err := fr.Next(nil)
	require.NoError(t, err)
	require.Equal(t, "<13>a", string(b))
	require.Equal(t, FrameInfo{}, info)
	b, info, err = fr.Next(nil)
	require.NoError(t, err)
	require.Equal(t, "<13>par", string(b))
	require.True(t, info.Incomplete)
	for range 2 {
		_, _, err = fr.Next(nil)
		require.ErrorIs(t, err, boom)
	}
}

// TestFramerAppends checks the append contract: earlier bytes of dst are
// kept and a dst with spare capacity is not reallocated.
func TestFramerAppends(t *testing.T) {
	fr := NewFramer(bufio.NewReader(strings.NewReader("5 <13>a<13>b\n")), 16)
	dst := make([]byte, 0, 64)
	dst = append(dst, "x"...)
	dst, _, err := fr.Next(dst)
	require.NoError(t, err)
	dst, _, err = fr.Next(dst)
	require.NoError(t, err)
	require.Equal(t, "x<13>a<13>b", string(dst))
	require.Equal(t, 64, cap(dst))
}

// TestFramerDiscardsWithoutBuffering checks that an overlong frame is
// skipped as it streams in: the framer never holds more than max bytes of
// it, whatever its length.
func TestFramerDiscardsWithoutBuffering(t *testing.T) {
	const huge = 8 << 20
	for _, prefix := range []string{"", strconv.Itoa(huge) + " "} {
		r := io.MultiReader(strings.NewReader(prefix), io.LimitReader(zeroFree{}, huge), strings.NewReader("\n<13>ok\n"))
		fr := NewFramer(bufio.NewReaderSize(r, 4096), 100)
		dst := make([]byte, 0, 100)
		b, info, err := fr.Next(dst)
		require.NoError(t, err)
		require.Len(t, b, 100)
		require.True(t, info.Truncated)
		require.Equal(t, 100, cap(b), "the frame grew past max")
		b, _, err = fr.Next(b[:0])
		require.NoError(t, err)
		require.Equal(t, "<13>ok", string(b))
	}
}

// zeroFree is an endless stream of 'a' (no terminator).
type zeroFree struct{}

func (zeroFree) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// FuzzFramer checks the framer's invariants on any input: no panic, no
// frame longer than max, no more frame bytes than input bytes, and, when
// the input is split into messages and octet-encoded, the same messages
// back.
func FuzzFramer(f *testing.F) {
	for _, s := range []string{
		"<13>a\n<13>b\r\n", "5 <13>a5 <13>b", "0 x\n", "99999999 x\n", "3 ab", "\x00\n\r", "12 <13>c\nd\r\n\n",
		"2026-04-01 line\n", "8 abcdefgh2 xy",
	} {
		f.Add([]byte(s), uint16(8))
	}
	f.Fuzz(func(t *testing.T, data []byte, maxRaw uint16) {
		maxBytes := int(maxRaw%512) + 1
		fr := NewFramer(bufio.NewReaderSize(bytes.NewReader(data), 16), maxBytes)
		total := 0
		for range len(data) + 1 {
			b, _, err := fr.Next(nil)
			if err != nil {
				break
			}
			if len(b) == 0 || len(b) > maxBytes {
				t.Fatalf("frame of %d bytes, max %d", len(b), maxBytes)
			}
			total += len(b)
		}
		if _, _, err := fr.Next(nil); err == nil {
			t.Fatal("more frames than input bytes")
		}
		if total > len(data) {
			t.Fatalf("%d frame bytes from %d input bytes", total, len(data))
		}

		// Round trip: cut data into messages of up to maxBytes at each
		// 0xff (a separator the messages themselves never contain).
		var msgs [][]byte
		for m := range bytes.SplitSeq(data, []byte{0xff}) {
			switch {
			case len(m) == 0 || len(m) > maxBytes:
			case findHeader(m, 1, len(m), maxBytes, false).found:
				// It holds what the framer takes for a further frame.
			case len(msgs) > 0 && msgs[0][0] == '<' && m[0] != '<':
				// Once a connection's frames start with a PRI, a body
				// without one is a count that lied.
			default:
				msgs = append(msgs, m)
			}
		}
		var enc []byte
		for _, m := range msgs {
			enc = strconv.AppendInt(enc, int64(len(m)), 10)
			enc = append(enc, ' ')
			enc = append(enc, m...)
		}
		fr = NewFramer(bufio.NewReaderSize(bytes.NewReader(enc), 16), maxBytes)
		for i, m := range msgs {
			b, info, err := fr.Next(nil)
			if err != nil || !bytes.Equal(b, m) || info != (FrameInfo{Octet: true}) {
				t.Fatalf("message %d: got %q %+v %v, want %q", i, b, info, err, m)
			}
		}
		if _, _, err := fr.Next(nil); err != io.EOF {
			t.Fatalf("after the last message: %v, want EOF", err)
		}

		// Resynchronisation: after any bytes at all (a lying count, a
		// truncated frame, junk), well-formed frames come out intact, each
		// as a frame of its own. Only the first two may be lost in what
		// precedes them (delivered inside frames flagged BadFrame): a
		// lying count may end inside the second one's header, after the
		// first one's.
		if maxBytes < 8 || len(data) > readBufferSize/2 {
			return
		}
		valid := []string{"<13>m1", "<13>m2", "<13>m3", "<13>m4"}
		stream := slices.Clone(data)
		for _, v := range valid {
			stream = append(strconv.AppendInt(stream, int64(len(v)), 10), ' ')
			stream = append(stream, v...)
		}
		// The production buffer: which of the counts a digit run allows is
		// right is told by the header it leads to, when that is buffered.
		fr = NewFramer(bufio.NewReaderSize(bytes.NewReader(stream), readBufferSize), maxBytes)
		var got []string
		for range len(stream) + 1 {
			b, _, err := fr.Next(nil)
			if err != nil {
				break
			}
			got = append(got, string(b))
		}
		if len(got) < 2 || !slices.Equal(got[len(got)-2:], valid[2:]) {
			t.Fatalf("frames after %q: %q, want them to end with %q", data, got, valid[2:])
		}
	})
}

func BenchmarkFramer(b *testing.B) {
	msg := "<134>1 2026-04-01T14:59:32+07:00 mx01.example.local audit - - - IMAP: User john.doe@example.local authenticated from IP address 10.150.90.11"
	for _, bc := range []struct{ name, frame string }{
		{"lf", msg + "\n"},
		{"octet", strconv.Itoa(len(msg)) + " " + msg},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const perRound = 1000
			input := []byte(strings.Repeat(bc.frame, perRound))
			rd := bytes.NewReader(input)
			br := bufio.NewReaderSize(rd, readBufferSize)
			dst := make([]byte, 0, 4096)
			b.SetBytes(int64(len(bc.frame)))
			b.ReportAllocs()
			fr := NewFramer(br, 65536)
			n := 0
			for b.Loop() {
				if n == perRound {
					rd.Reset(input)
					br.Reset(rd)
					fr = NewFramer(br, 65536)
					n = 0
				}
				var err error
				if dst, _, err = fr.Next(dst[:0]); err != nil {
					b.Fatal(err)
				}
				n++
			}
		})
	}
}
