package ecs

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

func TestAKeyThatIsBothAValueAndAParentIsRefused(t *testing.T) {
	tests := []struct {
		name    string
		keys    []string
		raw     string // a key set to a raw JSON object instead of a string
		fine    bool   // the document is accepted
		bad     string // the key the error names
		because string
	}{
		{name: "value and child", keys: []string{"a", "a.b"}, bad: "a", because: `is both a value and the parent of "a.b"`},
		{name: "deeper", keys: []string{"x.a.b", "x.a", "y"}, bad: "x.a"},
		{name: "a sibling sorts between", keys: []string{"a", "a-b", "a.c"}, bad: "a"},
		{name: "raw object and child", keys: []string{"log.syslog.hostname"}, raw: "log.syslog", bad: "log.syslog"},
		{name: "empty key", keys: []string{""}, bad: "", because: "has an empty level"},
		{name: "empty level", keys: []string{"a..b"}, bad: "a..b", because: "has an empty level"},
		{name: "trailing dot", keys: []string{"a."}, bad: "a."},
		{name: "leading dot", keys: []string{".a"}, bad: ".a"},
		{name: "not UTF-8", keys: []string{"caf\xe9", "café"}, bad: "caf\xe9", because: "is not valid UTF-8"},
		{name: "prefix without a dot is fine", keys: []string{"a", "ab", "a_b.c", "b.a", "b.ab"}, fine: true},
		{name: "a key set twice is fine", keys: []string{"a.b", "a.b", "a.c"}, fine: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Encoder
			var d Document
			for range 2 { // the second round hits the cached layout
				d.Reset()
				for _, k := range tt.keys {
					d.SetString(NewKey(k), "v")
				}
				if tt.raw != "" {
					d.SetRaw(NewKey(tt.raw), []byte(`{"x":1}`))
				}
				out, err := e.Append([]byte("prefix"), &d)
				if tt.fine {
					require.NoError(t, err)
					require.True(t, json.Valid(out[len("prefix"):]), "%s", out)
					continue
				}
				var ke *KeyError
				require.True(t, errors.As(err, &ke), "want a *KeyError, got %v", err)
				require.Equal(t, tt.bad, ke.Key)
				if tt.because != "" {
					require.Equal(t, tt.because, ke.Reason)
				}
				require.Equal(t, "prefix", string(out), "nothing written for a refused document")
			}
			// The encoder still writes good documents afterwards.
			d.Reset()
			d.SetString(NewKey("ok"), "1")
			require.Equal(t, `{"ok":"1"}`, string(mustAppend(t, &e, &d)))
		})
	}
}

// TestAValueFromAReusedBufferIsNeverStale builds keys and constants from
// bytes that the caller overwrites between events, as a parser reading a
// reused buffer does: every event's own values must come out. (With the
// setters this API replaced, SetConstString of such a value kept writing the
// first event's text from the cached layout.)
func TestAValueFromAReusedBufferIsNeverStale(t *testing.T) {
	buf := []byte("alpha")
	text := unsafe.String(unsafe.SliceData(buf), len(buf)) // follows buf's bytes, like a view of a reused read buffer
	cats := []string{"email"}
	var e Encoder
	var d Document
	for _, v := range []string{"alpha", "omega", "gamma", "alpha", "omega"} {
		copy(buf, v)
		cats[0] = v
		d.Reset()
		d.SetString(NewKey("message"), "m")
		d.SetConst(NewKey("event.kind"), NewConst(text))
		d.SetConst(NewKey("event.category"), NewConstStrings(cats...))
		d.SetConst(NewKey("labels."+text), NewConst("x"))
		want := `{"event":{"category":["` + v + `"],"kind":"` + v + `"},"labels":{"` + v + `":"x"},"message":"m"}`
		require.Equal(t, want, string(mustAppend(t, &e, &d)))
	}
}

func TestKeysAndConstantsAreTheSameWhereverTheyAreDeclared(t *testing.T) {
	a, b := NewKey("event.kind"), NewKey(string([]byte("event.kind")))
	require.Equal(t, a.id, b.id)
	require.True(t, a.Is(b))
	require.False(t, a.Is(NewKey("event.kinds")))
	require.Equal(t, NewConst("x").c.id, NewConst(string([]byte("x"))).c.id)
	require.NotEqual(t, NewConst("1").c.id, NewConstInt(1).c.id, "kinds are apart")
	require.NotEqual(t, NewConstStrings("a", "b").c.id, NewConstStrings("ab").c.id)
	require.NotEqual(t, NewConstStrings("a", "b").c.id, NewConstStrings("b", "a").c.id)

	var d Document
	d.SetString(a, "1")
	require.Equal(t, "1", d.GetString(b), "a key declared in another package finds the field")
}

// TestALayoutIsConfirmedByContentNotOnlyByIds makes two keys and two
// constants whose ids collide: the cached layout of one must not serve the
// other.
func TestALayoutIsConfirmedByContentNotOnlyByIds(t *testing.T) {
	x, y := NewKey("x"), NewKey("y")
	y.id = x.id
	cx, cy := NewConst("1"), NewConst("2")
	cy.c.id = cx.c.id
	var e Encoder
	var d Document
	for range 2 {
		for _, c := range []struct {
			key  Key
			val  Const
			want string
		}{{x, cx, `{"x":"1"}`}, {y, cx, `{"y":"1"}`}, {x, cy, `{"x":"2"}`}} {
			d.Reset()
			d.SetConst(c.key, c.val)
			require.Equal(t, c.want, string(mustAppend(t, &e, &d)))
		}
	}
}

func TestSetConstsSetsEachInOrderAndSkipsTheZeroConst(t *testing.T) {
	a, b := NewKey("a"), NewKey("b.c")
	var one, many Document
	one.SetConst(a, NewConst("1"))
	one.SetConst(b, NewConstInt(2))
	one.SetConst(a, NewConst("3"))
	many.SetConsts([]ConstField{{a, NewConst("1")}, {b, NewConstInt(2)}, {NewKey("none"), Const{}}, {a, NewConst("3")}})
	require.Len(t, many.Fields(), 3)
	require.Equal(t, string(mustAppend(t, new(Encoder), &one)), string(mustAppend(t, new(Encoder), &many)))
	require.Equal(t, `{"a":"3","b":{"c":2}}`, string(mustAppend(t, new(Encoder), &many)))
}

// FuzzLayouts builds documents from comma-separated keys (values and raw
// objects alternating) and encodes each with a long-lived encoder, twice,
// and with a fresh one: a document is refused with a *KeyError by all three
// or written as the same valid JSON, no object of which has a key twice.
func FuzzLayouts(f *testing.F) {
	for _, s := range []string{"a,b.c", "a,a.b", "x.y,x-y,x.z", "a..b", ".a", "a.", "", "log.syslog.hostname,log.syslog", "é.ü,\"q\".\\", "\xe9,é"} {
		f.Add(s)
	}
	long := new(Encoder)
	f.Fuzz(func(t *testing.T, s string) {
		var d Document
		for i, k := range strings.Split(s, ",") {
			if i%3 == 2 {
				d.SetRaw(NewKey(k), []byte(`{"r":1}`))
			} else {
				d.SetConst(NewKey(k), NewConst(k))
			}
		}
		first, err1 := long.Append(nil, &d)
		second, err2 := long.Append(nil, &d)
		fresh, err3 := new(Encoder).Append(nil, &d)
		if err1 != nil {
			var ke *KeyError
			if !errors.As(err1, &ke) || err2 == nil || err3 == nil || len(first)+len(second)+len(fresh) != 0 {
				t.Fatalf("refused %q inconsistently: %v / %v / %v", s, err1, err2, err3)
			}
			return
		}
		if err2 != nil || err3 != nil || string(first) != string(second) || string(first) != string(fresh) {
			t.Fatalf("%q: %s / %s / %s (%v %v)", s, first, second, fresh, err2, err3)
		}
		if dup := duplicateKey(first); dup != "" {
			t.Fatalf("%q: %s has the key %q twice in one object", s, first, dup)
		}
	})
}

// duplicateKey returns a key that appears twice in one object of the valid
// JSON doc (encoding/json would let the last one win), or "".
func duplicateKey(doc []byte) string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	type object struct {
		keys    map[string]bool
		wantKey bool
	}
	var stack []*object
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		top := (*object)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				if top != nil && !top.wantKey {
					top.wantKey = true
				}
				stack = append(stack, &object{keys: map[string]bool{}, wantKey: true})
			case '[':
				stack = append(stack, nil)
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1] != nil {
					stack[len(stack)-1].wantKey = true
				}
			}
		case string:
			if top != nil && top.wantKey {
				if top.keys[v] {
					return v
				}
				top.keys[v] = true
				top.wantKey = false
				continue
			}
			if top != nil {
				top.wantKey = true
			}
		default:
			if top != nil {
				top.wantKey = true
			}
		}
	}
}

func TestDuplicateKeyFindsARepeatedKeyInOneObject(t *testing.T) {
	require.Equal(t, "a", duplicateKey([]byte(`{"a":"1","a":{"b":"2"}}`)))
	require.Equal(t, "b", duplicateKey([]byte(`{"x":[{"b":1},{"b":2,"b":3}]}`)))
	require.Empty(t, duplicateKey([]byte(`{"a":{"a":{"a":1}},"b":["a","a"],"c":{"a":1}}`)))
}

// TestEqualConstantsMadeApartShareALayout makes every constant anew per
// event, as a caller that builds them from configuration more than once
// does: they are told apart from the cached ones by value, so the layout is
// reused, and readers see ordinary fields of the constants' kinds.
func TestEqualConstantsMadeApartShareALayout(t *testing.T) {
	var e Encoder
	var d Document
	for range 3 {
		d.Reset()
		d.SetConst(NewKey("event.kind"), NewConst("event"))
		d.SetConst(NewKey("event.category"), NewConstStrings("email", "network"))
		d.SetConst(NewKey("log.syslog.priority"), NewConstInt(22))
		d.SetString(NewKey("message"), "m")
		require.Equal(t, `{"event":{"category":["email","network"],"kind":"event"},"log":{"syslog":{"priority":22}},"message":"m"}`,
			string(mustAppend(t, &e, &d)))
		require.Len(t, e.layouts, 1)
		require.Equal(t, "event", d.GetString(NewKey("event.kind")))
		cat, ok := d.Get(NewKey("event.category"))
		require.True(t, ok)
		require.Equal(t, KindStrings, cat.Kind)
		require.Equal(t, []string{"email", "network"}, cat.Strs)
		prio, ok := d.Get(NewKey("log.syslog.priority"))
		require.True(t, ok)
		require.Equal(t, KindInt, prio.Kind)
		require.Equal(t, int64(22), prio.Int)
	}
}

// TestAChangedDocumentFindsItsLayoutAgain changes documents after their
// fields were set (a field deleted, a constant appended to): each must find
// the layout of a document set plainly with the same fields.
func TestAChangedDocumentFindsItsLayoutAgain(t *testing.T) {
	a, b, c, cat := NewKey("a"), NewKey("b"), NewKey("c"), NewKey("event.category")
	var e Encoder
	var d Document
	plain := func() string {
		d.Reset()
		d.SetString(a, "1")
		d.SetString(c, "3")
		d.SetStrings(cat, "email", "network")
		return string(mustAppend(t, &e, &d))
	}
	want := plain()
	require.Len(t, e.layouts, 1)
	d.Reset()
	d.SetString(a, "1")
	d.SetString(c, "3")
	d.SetConst(cat, NewConstStrings("email"))
	d.SetConst(b, NewConst("2"))
	d.Delete(b) // the last field: the others keep their order
	d.AppendUnique(cat, "network")
	require.Equal(t, want, string(mustAppend(t, &e, &d)))
	require.Len(t, e.layouts, 1, "the changed document found the plain one's layout")
	require.Equal(t, want, plain())
	require.Len(t, e.layouts, 1)
}

// TestAppendOnlyReadsTheDocument encodes one changed document from two
// goroutines with an encoder each: under -race, a write to the document by
// Append would fail the test.
func TestAppendOnlyReadsTheDocument(t *testing.T) {
	var d Document
	d.SetConst(NewKey("a"), NewConst("1"))
	d.SetConst(NewKey("b"), NewConstStrings("x"))
	d.AppendUnique(NewKey("b"), "y")
	want := `{"a":"1","b":["x","y"]}`
	done := make(chan string)
	for range 2 {
		go func() {
			out, err := new(Encoder).Append(nil, &d)
			if err != nil {
				done <- err.Error()
				return
			}
			done <- string(out)
		}()
	}
	require.Equal(t, want, <-done)
	require.Equal(t, want, <-done)
}
