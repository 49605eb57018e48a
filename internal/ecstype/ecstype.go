// Package ecstype tells, in tests, whether a value decoded from JSON (by
// encoding/json into any) is one that Elasticsearch indexes into a field of
// a given mapping type, the types ECS and our index templates use. The
// processor's tests check the documents it writes against ECS's field
// definitions with it, the Elasticsearch sink's tests against the template.
// Only tests import it.
package ecstype

import (
	"net/netip"
	"time"
)

// Accepts reports whether v fits a field of mapping type typ: a string for
// the keyword and text types, an IP address for ip, an RFC 3339 time for
// date, a whole number for the integer types, any number for the float
// types, a boolean, or an object for flattened, object and geo_point (as
// {"lat":…,"lon":…}). An unknown type accepts nothing.
func Accepts(typ string, v any) bool {
	switch typ {
	case "keyword", "constant_keyword", "wildcard", "text", "match_only_text":
		_, ok := v.(string)
		return ok
	case "ip":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := netip.ParseAddr(s)
		return err == nil
	case "date":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case "long", "integer", "short", "byte", "unsigned_long":
		n, ok := v.(float64)
		return ok && n == float64(int64(n))
	case "float", "double", "scaled_float", "half_float":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "flattened", "object", "geo_point":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}
