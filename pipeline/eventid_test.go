package pipeline

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIDFormat(t *testing.T) {
	s := NewSession()
	scopes := map[string]IDScope{
		"connection": ConnectionScope(s, "syslog_tcp", 1),
		"reader":     ReaderScope(s, "syslog_udp", 0),
		"internal":   internalScope(s, "siemfwd_ledger"),
		"file":       FileScope("files", "0123abcd-1024-2049-77"),
		"kafka":      KafkaScope("edge_in", strings.Repeat("t", 249), 2147483647),
	}
	for name, sc := range scopes {
		id := sc.ID(18446744073709551615)
		assert.Len(t, id, scopeLen+1+20, name)
		assert.True(t, ValidID([]byte(id)), "%s: %q is made of the id alphabet", name, id)
		assert.Equal(t, byte('.'), id[scopeLen], name)
	}
	long := string(scopes["kafka"].AppendKafka(nil, 9223372036854775807, -9223372036854775808))
	assert.LessOrEqual(t, len(long), 62, "the longest id")
	assert.True(t, ValidID([]byte(long)))
}

func TestIDScopesKeepStreamsApart(t *testing.T) {
	s1, s2 := NewSession(), NewSession()
	require.NotEqual(t, s1, s2, "sessions are random")
	ids := map[string]string{}
	add := func(what, id string) {
		t.Helper()
		if prev, ok := ids[id]; ok {
			t.Fatalf("%s and %s share the id %s", what, prev, id)
		}
		ids[id] = what
	}
	for _, src := range []string{"a", "b"} {
		for _, sess := range []Session{s1, s2} {
			for conn := range uint64(3) {
				add("conn "+src, ConnectionScope(sess, src, conn).ID(0))
				add("reader "+src, ReaderScope(sess, src, conn).ID(0))
			}
			add("internal "+src, internalScope(sess, src).ID(0))
		}
		add("file "+src, FileScope(src, "x").ID(0))
		add("file2 "+src, FileScope(src, "y").ID(0))
		add("kafka "+src, KafkaScope(src, "x", 0).ID(0))
		add("kafka partition "+src, KafkaScope(src, "x", 1).ID(0))
	}
	sc := ConnectionScope(s1, "a", 0)
	assert.NotEqual(t, sc.ID(0), sc.ID(1), "positions differ")
	assert.Equal(t, sc.ID(7), ConnectionScope(s1, "a", 0).ID(7), "a scope is a function of its stream")
}

func TestDurableScopesDoNotDependOnTheSession(t *testing.T) {
	// The same file line or Kafka record read by another process (after a
	// restart) gets the same id: no session goes into these scopes.
	assert.Equal(t, FileScope("f", "stream").ID(120), FileScope("f", "stream").ID(120))
	assert.Equal(t, string(KafkaScope("k", "t", 3).AppendKafka(nil, 5, 1700000000000)),
		string(KafkaScope("k", "t", 3).AppendKafka(nil, 5, 1700000000000)))
	assert.NotEqual(t, string(KafkaScope("k", "t", 3).AppendKafka(nil, 5, 1700000000000)),
		string(KafkaScope("k", "t", 3).AppendKafka(nil, 5, 1700000000001)),
		"a record of a topic created again has another timestamp")
}

func TestIDBufferAssignsInOrder(t *testing.T) {
	sc := ReaderScope(NewSession(), "u", 0)
	var b IDBuffer
	for round := range 2 {
		evs := make([]Event, 3)
		for i := range evs {
			b.Add(sc, uint64(10*round+i))
		}
		require.Equal(t, 3, b.Len())
		b.Assign(evs)
		for i, ev := range evs {
			assert.Equal(t, sc.ID(uint64(10*round+i)), ev.ID)
		}
		assert.Zero(t, b.Len(), "Assign empties the buffer")
	}
}

func TestIDCounterMintsTheIDsOfConsecutivePositions(t *testing.T) {
	sc := ConnectionScope(NewSession(), "syslog_tcp", 4)
	for _, from := range []uint64{0, 7, 99_990, 9_999_999_999_999_999_990, 18_446_744_073_709_550_000} {
		c := sc.Counter(from)
		var b IDBuffer
		const n = 1200 // carries over one to four digits, and new digits
		for range n {
			b.AddNext(&c)
		}
		evs := make([]Event, n)
		b.Assign(evs)
		for i, ev := range evs {
			require.Equal(t, sc.ID(from+uint64(i)), ev.ID, "position %d", from+uint64(i))
		}
	}
}

func TestValidID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"AbC-_9.12", true},
		{"", false},
		{strings.Repeat("a", maxIDLen), true},
		{strings.Repeat("a", maxIDLen+1), false},
		{"a b", false},
		{"a/b", false},
		{"a\"b", false},
		{"é", false},
	} {
		assert.Equal(t, tt.want, ValidID([]byte(tt.id)), "%q", tt.id)
	}
}

func TestIDSequence(t *testing.T) {
	a, b := NewIDSequence("alerts"), NewIDSequence("alerts")
	first := a.Next()
	assert.NotEqual(t, first, a.Next(), "a sequence moves on")
	assert.NotEqual(t, first, b.Next(), "each start has its own session")
}
