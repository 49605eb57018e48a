// Package ecs holds the typed Elastic Common Schema document that every
// parser fills and that is encoded once, as nested JSON, for all sinks.
//
// A Document is a flat list of dotted field names with typed values. It avoids
// map[string]any on the hot path: fields are appended into a slice that a
// worker reuses from event to event, and the encoder sorts them and writes the
// nested JSON objects directly into a byte buffer.
package ecs

import (
	"math"
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

// Field is one dotted ECS field and its value. Members are shared between
// kinds where they can be (a float's bits in Int, raw JSON in Str): a
// document is a few dozen of these, written per event, and a smaller Field
// is cheaper to fill and to walk.
type Field struct {
	Key  string
	Kind Kind
	Bool bool
	// Const marks a value set by SetConst…: the encoder writes it into a
	// cached layout once instead of encoding it per event.
	Const bool
	Int   int64  // KindInt; the bits of a KindFloat
	Str   string // KindString, KindRaw; for a constant KindStrings, stands for the caller's slice (see SetConstStrings)
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
//
// Keys are ECS field names: lower-case letters, digits, '_', '@' and '.'
// separating the levels. The encoder relies on '.' sorting below every other
// character they use.
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
// document's own storage: read it, don't keep it.
func (d *Document) Fields() []Field { return d.fields }

// slot appends a field for key, reusing the storage of an earlier event. It
// does not look for an existing key: setting a key twice leaves two entries,
// and the later one wins (Get searches from the end; the encoder keeps the
// last). Checking on every set would cost a scan per field on the hot path.
func (d *Document) slot(key string, kind Kind) *Field {
	if len(d.fields) < cap(d.fields) {
		d.fields = d.fields[:len(d.fields)+1]
	} else {
		d.fields = append(d.fields, Field{})
	}
	f := &d.fields[len(d.fields)-1]
	f.Key, f.Kind, f.Const = key, kind, false
	f.Strs = f.Strs[:0]
	return f
}

// Get returns the field named key.
func (d *Document) Get(key string) (*Field, bool) {
	for i := len(d.fields) - 1; i >= 0; i-- {
		if d.fields[i].Key == key {
			return &d.fields[i], true
		}
	}
	return nil, false
}

// GetString returns the value of a string field, or "" when it is absent or not a string.
func (d *Document) GetString(key string) string {
	if f, ok := d.Get(key); ok {
		return f.Text()
	}
	return ""
}

// Has reports whether key is set.
func (d *Document) Has(key string) bool {
	_, ok := d.Get(key)
	return ok
}

// Delete removes every entry of key.
func (d *Document) Delete(key string) {
	for i := 0; i < len(d.fields); {
		if d.fields[i].Key == key {
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
func (d *Document) SetString(key, v string) { d.slot(key, KindString).Str = v }

// SetConstString sets a keyword field to a value that is the same text for
// as long as the program runs: a literal or an entry of a table that is never
// written. The encoder recognises it by its address and writes it into a
// cached layout, so runs of such fields cost one copy. A value built per
// event, or read from a buffer that is reused, must go through SetString.
func (d *Document) SetConstString(key, v string) {
	f := d.slot(key, KindString)
	f.Str, f.Int, f.Const = v, 0, true
}

// SetConstStringNonEmpty sets key to the constant v only when v is not empty.
func (d *Document) SetConstStringNonEmpty(key, v string) {
	if v != "" {
		d.SetConstString(key, v)
	}
}

// SetConstStrings sets an array field to vs, a slice that, like
// SetConstString's values, is never written. The values are copied, so
// readers see an ordinary KindStrings field; Str holds a string whose
// address is vs's, by which the encoder recognises it (its bytes are not text).
func (d *Document) SetConstStrings(key string, vs []string) {
	f := d.slot(key, KindStrings)
	f.Strs = append(f.Strs, vs...)
	f.Str = unsafe.String((*byte)(unsafe.Pointer(unsafe.SliceData(vs))), len(vs)) // within vs: a string header is 16 bytes
	f.Int, f.Const = 0, true
}

// SetConstInt sets a long field whose value recurs in most events (a syslog
// priority): the encoder caches a layout per value.
func (d *Document) SetConstInt(key string, v int64) {
	f := d.slot(key, KindInt)
	f.Int, f.Str, f.Const = v, "", true
}

// SetStringNonEmpty sets key only when v is not empty.
func (d *Document) SetStringNonEmpty(key, v string) {
	if v != "" {
		d.SetString(key, v)
	}
}

// SetInt sets a long field.
func (d *Document) SetInt(key string, v int64) { d.slot(key, KindInt).Int = v }

// SetFloat sets a float field.
func (d *Document) SetFloat(key string, v float64) {
	d.slot(key, KindFloat).Int = int64(math.Float64bits(v))
}

// SetBool sets a boolean field.
func (d *Document) SetBool(key string, v bool) { d.slot(key, KindBool).Bool = v }

// SetTime sets a date field.
func (d *Document) SetTime(key string, v time.Time) { d.slot(key, KindTime).Time = v }

// SetRaw sets a field to an already-encoded JSON value. The bytes are kept, not copied.
func (d *Document) SetRaw(key string, v []byte) {
	d.slot(key, KindRaw).Str = unsafe.String(unsafe.SliceData(v), len(v))
}

// SetStrings sets an array field to exactly vs.
func (d *Document) SetStrings(key string, vs ...string) {
	f := d.slot(key, KindStrings)
	f.Strs = append(f.Strs, vs...)
}

// AppendString adds v to an array field, creating it when absent.
func (d *Document) AppendString(key, v string) {
	if f, ok := d.Get(key); ok && f.Kind == KindStrings {
		f.Strs = append(f.Strs, v)
		f.Const = false
		return
	}
	d.SetStrings(key, v)
}

// AppendUnique adds v to an array field unless it is empty or already there
// (for related.ip and related.user).
func (d *Document) AppendUnique(key, v string) {
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
		f.Const = false
		return
	}
	d.SetStrings(key, v)
}
