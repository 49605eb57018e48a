// Package ecs holds the typed Elastic Common Schema document that every
// parser fills and that is encoded once, as nested JSON, for all sinks.
//
// A Document is a flat list of dotted field names with typed values. It avoids
// map[string]any on the hot path: fields are appended into a slice that a
// worker reuses from event to event, and the encoder sorts them and writes the
// nested JSON objects directly into a byte buffer.
//
// # Keys and constants
//
// Field names are declared once, as Key values (NewKey("event.kind")), and
// values that recur from event to event (event.kind, a syslog priority, a
// profile's observer.vendor) as Const values (NewConst("alert")). Each holds
// an id, a 64-bit hash of its content that the constructor computes: a pure
// function of the name or value, so packages declare their keys as
// package-level values without sharing any table, and two declarations of
// one name in two packages are the same key. The encoder's layout cache
// finds a document's layout by these ids and then confirms it by content (a
// key's name, a constant's value), so a hash collision costs a layout, never
// a wrong field. A Key and a Const own a copy of their text: building one
// from a buffer that is later reused, or building one per event, is correct
// (only slower). No caller promises anything about memory.
//
// It is a leaf: it imports only the standard library, so parsers, enrichers,
// the processor and sinks can all build on it.
package ecs

import (
	"math"
	"strings"
	"time"
	"unsafe"
)

// Version is the ECS version every document claims in ecs.version.
const Version = "9.4.0"

// Kind tells which member of a Field holds its value.
type Kind uint8

// The kinds of value a field may hold.
const (
	KindString  Kind = iota + 1 // Str
	KindInt                     // Int
	KindFloat                   // Float()
	KindBool                    // Bool
	KindStrings                 // Strs, encoded as a JSON array
	KindTime                    // Time, encoded as RFC 3339 UTC with the fraction kept
	KindRaw                     // Str holds an already-encoded JSON value (objects of flattened fields)
)

// Key is a field name: lower-case ECS names, '.' separating the levels
// ("log.syslog.hostname"). Declare keys once (package-level values, or
// built from configuration at start) rather than per event: NewKey copies
// and hashes the name.
type Key struct {
	name string
	id   uint64
}

// NewKey returns the key for name. It does not check the name: the encoder
// rejects a document whose keys cannot make a JSON object (an empty level,
// a key that is both a value and a parent), and configuration checks the
// names users give.
func NewKey(name string) Key {
	name = strings.Clone(name)
	return Key{name: name, id: hashString(seedKey, name)}
}

// Name returns the dotted field name.
func (k Key) Name() string { return k.name }

// String returns the dotted field name.
func (k Key) String() string { return k.name }

// Is reports whether k and o are the same key: equal ids, then equal names
// (a collision of ids must not merge two keys). Most keys differ in their
// ids, so a test against several keys costs a compare each.
func (k Key) Is(o Key) bool { return k.id == o.id && sameText(k.name, o.name) }

// Const is a value of a keyword, keyword-array or long field that recurs
// from event to event. The encoder writes a run of constants from its cached
// layout instead of encoding them per event. Like keys, constants are made
// once (package-level values, or from configuration at start): each
// constructor allocates. The zero Const is "no value".
type Const struct{ c *constant }

// constant is a Const's value, never written after construction.
type constant struct {
	id   uint64
	kind Kind
	str  string   // KindString; "" for the other kinds
	strs []string // KindStrings
	num  int64    // KindInt; 0 for the other kinds
}

// NewConst returns a constant keyword value. It copies s.
func NewConst(s string) Const {
	s = strings.Clone(s)
	return Const{&constant{id: hashString(seedString, s), kind: KindString, str: s}}
}

// NewConstStrings returns a constant keyword-array value. It copies vs.
func NewConstStrings(vs ...string) Const {
	c := &constant{kind: KindStrings, strs: make([]string, len(vs))}
	h := seedStrings
	for i, v := range vs {
		c.strs[i] = strings.Clone(v)
		h = hashString(h, v)
	}
	c.id = mix(h ^ uint64(len(vs)))
	return Const{c}
}

// NewConstInt returns a constant long value (a syslog priority, a facility code).
func NewConstInt(v int64) Const {
	return Const{&constant{id: mix(seedInt ^ uint64(v)), kind: KindInt, num: v}}
}

// IsEmpty reports whether c is the zero Const or the empty string.
func (c Const) IsEmpty() bool { return c.c == nil || c.c.kind == KindString && c.c.str == "" }

// Text returns the value of a keyword constant, or "".
func (c Const) Text() string {
	if c.c == nil {
		return ""
	}
	return c.c.str
}

// Seeds keep the ids of names, strings, string arrays and numbers apart.
const (
	seedKey     uint64 = 0x6b65792e6b657930
	seedString  uint64 = 0x636f6e73742e7330
	seedStrings uint64 = 0x636f6e73742e6130
	seedInt     uint64 = 0x636f6e73742e6930
)

// hashString folds s into h: FNV-1a over the bytes, then mix, so that ids
// spread over all 64 bits.
func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 0x100000001b3
	}
	return mix(h ^ uint64(len(s)))
}

// mix is the finaliser of SplitMix64.
func mix(h uint64) uint64 {
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	return h ^ h>>31
}

// Field is one dotted ECS field and its value. Members are shared between
// kinds where they can be (a float's bits in Int, raw JSON in Str): a
// document is a few dozen of these, written per event, and a smaller Field
// is cheaper to fill and to walk. Only the members of the field's Kind hold
// its value; the others may hold an earlier event's (storage is reused).
type Field struct {
	Key  Key
	Kind Kind
	Bool bool
	// konst is the Const the field was set to, nil when it was not set by
	// SetConst (or was changed since). The encoder writes the constant's
	// own value; Str, Int and Strs hold a copy of it for readers.
	konst *constant
	Int   int64  // KindInt; the bits of a KindFloat
	Str   string // KindString, KindRaw
	Strs  []string
	Time  time.Time
}

// Float returns the value of a KindFloat field.
func (f *Field) Float() float64 { return math.Float64frombits(uint64(f.Int)) }

// Text returns the value of a string field, or "" for other kinds (whose
// Str may still hold a string of an earlier event: storage is reused).
func (f *Field) Text() string {
	if f.Kind == KindString {
		return f.Str
	}
	return ""
}

// Document is one event's fields. The zero value is empty and ready to use.
// Setting a key that is already present replaces its value.
type Document struct {
	fields []Field
}

// Reset empties the document but keeps its storage for the next event. The
// old values are not cleared: slot overwrites what a new field reads, and
// clearing three pointers per field cost a write barrier each while the
// collector runs. They keep at most the previous event's bytes alive.
func (d *Document) Reset() { d.fields = d.fields[:0] }

// Fields returns the fields in the order they were set, including values a
// later set replaced (the last entry of a key is its value). The slice is the
// document's own storage: read it, don't keep it, and change fields only
// through the setters.
func (d *Document) Fields() []Field { return d.fields }

// slot appends a field for key, reusing the storage of an earlier event. It
// does not look for an existing key: setting a key twice leaves two entries,
// and the later one wins (Get searches from the end; the encoder keeps the
// last). Checking on every set would cost a scan per field on the hot path.
// It writes only the key, the kind and konst; each setter writes the members
// of its kind (SetStrings empties the reused Strs first). Small enough to be
// inlined into the setters, which are called a few dozen times per event.
func (d *Document) slot(key Key, kind Kind) *Field {
	n := len(d.fields)
	if n == cap(d.fields) {
		d.grow()
	}
	d.fields = d.fields[:n+1]
	f := &d.fields[n]
	f.Key, f.Kind, f.konst = key, kind, nil
	return f
}

// grow makes room for one more field, out of slot's line: it runs only
// until the document reaches its working size.
func (d *Document) grow() {
	d.fields = append(d.fields, Field{})[:len(d.fields)]
}

// index returns the position of the last entry of key, or -1.
func (d *Document) index(key Key) int {
	for i := len(d.fields) - 1; i >= 0; i-- {
		if d.fields[i].Key.Is(key) {
			return i
		}
	}
	return -1
}

// Get returns the field named key, to read. The pointer is valid until the next set.
func (d *Document) Get(key Key) (*Field, bool) {
	if i := d.index(key); i >= 0 {
		return &d.fields[i], true
	}
	return nil, false
}

// GetString returns the value of a string field, or "" when it is absent or not a string.
func (d *Document) GetString(key Key) string {
	if f, ok := d.Get(key); ok {
		return f.Text()
	}
	return ""
}

// Has reports whether key is set.
func (d *Document) Has(key Key) bool { return d.index(key) >= 0 }

// Delete removes every entry of key.
func (d *Document) Delete(key Key) {
	for i := 0; i < len(d.fields); {
		if d.fields[i].Key.Is(key) {
			last := len(d.fields) - 1
			d.fields[i], d.fields[last] = d.fields[last], d.fields[i]
			d.fields = d.fields[:last]
			continue
		}
		i++
	}
}

// SetString sets a keyword or text field. An empty value is still set; use
// SetStringNonEmpty for optional values.
func (d *Document) SetString(key Key, v string) { d.slot(key, KindString).Str = v }

// SetConst sets key to the constant v; the zero Const sets nothing. Readers
// see an ordinary field of v's kind.
func (d *Document) SetConst(key Key, v Const) {
	if c := v.c; c != nil {
		d.setConst(key, c)
	}
}

// ConstField is a field set to a constant, for SetConsts.
type ConstField struct {
	Key   Key
	Value Const
}

// SetConsts sets each of fs in order, as SetConst does: a run of constants
// prepared once (a source's settings) costs one call.
func (d *Document) SetConsts(fs []ConstField) {
	for i := range fs {
		if c := fs[i].Value.c; c != nil {
			d.setConst(fs[i].Key, c)
		}
	}
}

// setConst sets key to c; str is "" and num 0 where the kind has none.
func (d *Document) setConst(key Key, c *constant) {
	f := d.slot(key, c.kind)
	f.konst, f.Str, f.Int = c, c.str, c.num
	if c.kind == KindStrings {
		f.Strs = append(f.Strs[:0], c.strs...) // a copy: AppendUnique may add to it
	}
}

// SetConstNonEmpty sets key to v unless v is empty (see Const.IsEmpty).
func (d *Document) SetConstNonEmpty(key Key, v Const) {
	if !v.IsEmpty() {
		d.SetConst(key, v)
	}
}

// SetStringNonEmpty sets key only when v is not empty.
func (d *Document) SetStringNonEmpty(key Key, v string) {
	if v != "" {
		d.slot(key, KindString).Str = v
	}
}

// SetInt sets a long field.
func (d *Document) SetInt(key Key, v int64) { d.slot(key, KindInt).Int = v }

// SetFloat sets a float field.
func (d *Document) SetFloat(key Key, v float64) {
	d.slot(key, KindFloat).Int = int64(math.Float64bits(v))
}

// SetBool sets a boolean field.
func (d *Document) SetBool(key Key, v bool) { d.slot(key, KindBool).Bool = v }

// SetTime sets a date field.
func (d *Document) SetTime(key Key, v time.Time) { d.slot(key, KindTime).Time = v }

// SetRaw sets a field to an already-encoded JSON value. The bytes are kept, not copied.
func (d *Document) SetRaw(key Key, v []byte) {
	d.slot(key, KindRaw).Str = unsafe.String(unsafe.SliceData(v), len(v))
}

// SetStrings sets an array field to exactly vs.
func (d *Document) SetStrings(key Key, vs ...string) {
	f := d.slot(key, KindStrings)
	f.Strs = append(f.Strs[:0], vs...)
}

// AppendString adds v to an array field, creating it when absent.
func (d *Document) AppendString(key Key, v string) {
	if f, ok := d.Get(key); ok && f.Kind == KindStrings {
		f.Strs = append(f.Strs, v)
		f.konst = nil
		return
	}
	d.SetStrings(key, v)
}

// AppendUnique adds v to an array field unless it is empty or already there
// (for related.ip and related.user).
func (d *Document) AppendUnique(key Key, v string) {
	if v == "" {
		return
	}
	if f, ok := d.Get(key); ok && f.Kind == KindStrings {
		for _, s := range f.Strs {
			if s == v {
				return
			}
		}
		f.Strs = append(f.Strs, v)
		f.konst = nil
		return
	}
	d.SetStrings(key, v)
}
