// Package syslogparse parses the header of one syslog message (RFC 5424 or
// RFC 3164, detected per message) into a Header and maps it onto the
// log.syslog.* ECS fields.
//
// Parsing has two paths. A hand-written fast path accepts only the common,
// well-formed header shapes (RFC 5424 with VERSION 1, with or without
// well-formed structured data; RFC 3164 "<PRI>Mmm dd hh:mm:ss host
// tag[pid]: msg") and returns strings that alias the input, with no
// allocation. Everything else goes to the lenient reader, which reads what
// real senders send as rsyslog and syslog-ng do (README, "Syslog parsing"):
// it keeps every header part it can find, and notes what it had to assume or
// drop (Header.Notes). FuzzLenientAgrees checks that both paths return the
// same on every input the fast path accepts, and that the fast path agrees
// with the go-syslog machines, the reference for well-formed headers.
//
// Parse never fails: a message without any header (no PRI, no timestamp, no
// tag) comes back with Format Unknown and the whole payload as Msg, so
// nothing is dropped.
//
// It is part of the domain (parse/): it may import ecs, never the engine
// (siemfwd/pipeline), sources or sinks.
package syslogparse

import (
	"strconv"
	"time"

	"siemfwd/ecs"
)

// Format is the syslog header format a message was parsed as.
type Format uint8

const (
	// Unknown means the header could not be parsed; Msg holds the whole payload.
	Unknown Format = iota
	// RFC5424 is the structured syslog format (VERSION after PRI).
	RFC5424
	// RFC3164 is the BSD syslog format, including its common deviations
	// (no PRI, no timestamp or other timestamp shapes, no hostname, no tag).
	RFC3164
)

// String returns the lower-case name used in metrics labels.
func (f Format) String() string {
	switch f {
	case RFC5424:
		return "rfc5424"
	case RFC3164:
		return "rfc3164"
	default:
		return "unknown"
	}
}

// Header is the parsed syslog header. Strings alias the input bytes where
// possible (always on the fast path): the input must not be modified while
// the Header is in use. Pipeline events never modify Raw after framing, which
// is what makes the aliasing safe.
type Header struct {
	Format Format
	// HasPriority is set for every parsed header: without a PRI, Priority is
	// 13 (user.notice, as rsyslog and syslog-ng assume) and Notes has
	// NotePriorityMissing.
	HasPriority bool
	Priority    uint8  // facility = Priority/8, severity = Priority%8; valid only when HasPriority
	Version     uint16 // the RFC 5424 VERSION (normally 1); 0 for RFC 3164 and Unknown
	// Time is the header timestamp. A time without a zone is read in the
	// per-source location; an RFC 3164 time without a year gets the year
	// that YearMargin gives.
	Time    time.Time
	HasTime bool
	// TimeZoned reports that the header time carried its own offset, so no
	// zone was assumed.
	TimeZoned bool
	Hostname  string // "" when absent or "-"
	AppName   string // RFC 5424 APP-NAME or the RFC 3164 tag without [pid]
	ProcID    string // RFC 5424 PROCID or the RFC 3164 [pid]
	MsgID     string
	// StructuredData is the RFC 5424 STRUCTURED-DATA as a JSON object
	// {"sd-id":{"param":"value"}} with sorted keys (ECS type flattened); nil
	// when absent. It may be the Parser's scratch: valid until the Parser's
	// next Parse.
	StructuredData []byte
	// Msg is the MSG part with a leading UTF-8 BOM stripped; for Unknown it is
	// the whole payload. Line terminators are kept: framing owns them.
	Msg string
	// Notes lists what the lenient reader assumed or dropped; zero on the
	// fast path. AppendECS writes them as tags.
	Notes Notes
}

// Notes is a set of Note flags.
type Notes uint8

// What the lenient reader notes about a header.
const (
	// NotePriorityMissing: there was no valid PRI, so Priority is 13.
	NotePriorityMissing Notes = 1 << iota
	// NoteInvalidTime: a timestamp-shaped part that is no real time (Feb 29
	// in a common year, Feb 30, a malformed RFC 5424 TIMESTAMP) was dropped.
	NoteInvalidTime
	// NoteFieldTooLong: an RFC 5424 HOSTNAME, APP-NAME, PROCID, MSGID,
	// SD-ID or PARAM-NAME longer than RFC 5424 allows was kept whole.
	NoteFieldTooLong
	// NoteInvalidSD: an SD-ELEMENT that could not be read was dropped (its
	// neighbours are kept), or STRUCTURED-DATA was missing altogether.
	NoteInvalidSD
)

// The tags AppendECS writes for Notes.
const (
	TagPriorityMissing = "_syslog_priority_missing"
	TagInvalidTime     = "_syslog_invalid_timestamp"
	TagFieldTooLong    = "_syslog_field_too_long"
	TagInvalidSD       = "_syslog_invalid_structured_data"
)

// tag returns the tag of a single note.
func (n Notes) tag() string {
	switch n {
	case NotePriorityMissing:
		return TagPriorityMissing
	case NoteInvalidTime:
		return TagInvalidTime
	case NoteFieldTooLong:
		return TagFieldTooLong
	case NoteInvalidSD:
		return TagInvalidSD
	}
	return ""
}

// Parser parses syslog headers. Each worker owns one: it holds scratch
// space, so a Parser must not be used by two goroutines at once.
type Parser struct {
	// zones caches one fixed zone per UTC offset seen in RFC 5424 times, so
	// the fast path does not allocate a *time.Location per event. Offsets are
	// bounded (±23:59 in minutes), so the map is too.
	zones map[int]*time.Location
	// sd is the fast path's structured-data scratch.
	sd  sdScratch
	day lastDay // the fast path's last RFC 3339 date
}

// New returns a Parser.
func New() *Parser {
	return &Parser{zones: make(map[int]*time.Location)}
}

// Parse parses one message: the bytes after framing. raw must not be
// modified afterwards while the returned Header is in use, because its
// strings may alias raw; its StructuredData may alias the Parser's scratch
// and is valid until the next Parse. received and loc resolve RFC 3164's
// missing year and any missing zone (loc nil means UTC). Parse never fails:
// when there is no header at all, Format is Unknown and Msg is the whole
// payload.
func (p *Parser) Parse(raw []byte, received time.Time, loc *time.Location) Header {
	if loc == nil {
		loc = time.UTC
	}
	if h, ok := p.fast(raw, received, loc); ok {
		return h
	}
	return p.lenient(raw, received, loc)
}

// ECS field names written by AppendECS.
var (
	keyPriority       = ecs.NewKey("log.syslog.priority")
	keyFacilityCode   = ecs.NewKey("log.syslog.facility.code")
	keyFacilityName   = ecs.NewKey("log.syslog.facility.name")
	keySeverityCode   = ecs.NewKey("log.syslog.severity.code")
	keySeverityName   = ecs.NewKey("log.syslog.severity.name")
	keyVersion        = ecs.NewKey("log.syslog.version")
	keyHostname       = ecs.NewKey("log.syslog.hostname")
	keyAppname        = ecs.NewKey("log.syslog.appname")
	keyProcID         = ecs.NewKey("log.syslog.procid")
	keyMsgID          = ecs.NewKey("log.syslog.msgid")
	keyStructuredData = ecs.NewKey("log.syslog.structured_data")
	keyTags           = ecs.NewKey("tags")

	// The constant values of the priority and its parts, by code.
	priorities    = constTable(256, func(c uint8) ecs.Const { return ecs.NewConstInt(int64(c)) })
	facilityNames = constTable(24, func(c uint8) ecs.Const { return ecs.NewConst(FacilityName(c)) })
	severityNames = constTable(8, func(c uint8) ecs.Const { return ecs.NewConst(SeverityName(c)) })
	version1      = ecs.NewConst("1")
)

// constTable returns the constants of the codes 0 … n-1.
func constTable(n int, of func(code uint8) ecs.Const) []ecs.Const {
	t := make([]ecs.Const, n)
	for code := range t {
		t[code] = of(uint8(code))
	}
	return t
}

// AppendECS writes the header's log.syslog.* fields (docs/kerio.md §6.3) into doc,
// and a tag for each of its Notes. Absent parts are not written, so a
// field's absence means the header did not carry it. It writes nothing for
// an Unknown header.
func (h *Header) AppendECS(doc *ecs.Document) {
	if h.Format == Unknown {
		return
	}
	for n := NotePriorityMissing; n <= NoteInvalidSD && h.Notes >= n; n <<= 1 {
		if h.Notes&n != 0 {
			doc.AppendString(keyTags, n.tag())
		}
	}
	if h.HasPriority {
		fac, sev := h.Priority/8, h.Priority%8
		// A sender uses a few priorities: each value gets a cached layout.
		doc.SetConst(keyPriority, priorities[h.Priority])
		doc.SetConst(keyFacilityCode, priorities[fac]) // the same numbers
		if int(fac) < len(facilityNames) {
			doc.SetConst(keyFacilityName, facilityNames[fac])
		}
		doc.SetConst(keySeverityCode, priorities[sev])
		doc.SetConst(keySeverityName, severityNames[sev])
	}
	if h.Format == RFC5424 {
		if h.Version == 1 { // the only version in use; avoids a conversion per event
			doc.SetConst(keyVersion, version1)
		} else {
			doc.SetString(keyVersion, strconv.Itoa(int(h.Version)))
		}
	}
	doc.SetStringNonEmpty(keyHostname, h.Hostname)
	doc.SetStringNonEmpty(keyAppname, h.AppName)
	doc.SetStringNonEmpty(keyProcID, h.ProcID)
	doc.SetStringNonEmpty(keyMsgID, h.MsgID)
	if h.StructuredData != nil {
		doc.SetRaw(keyStructuredData, h.StructuredData)
	}
}

// FacilityName returns the syslog facility keyword for code 0..23
// (kern … local7), or "" for any other code.
func FacilityName(code uint8) string {
	switch code {
	case 0:
		return "kern"
	case 1:
		return "user"
	case 2:
		return "mail"
	case 3:
		return "daemon"
	case 4:
		return "auth"
	case 5:
		return "syslog"
	case 6:
		return "lpr"
	case 7:
		return "news"
	case 8:
		return "uucp"
	case 9:
		return "cron"
	case 10:
		return "authpriv"
	case 11:
		return "ftp"
	case 12:
		return "ntp"
	case 13:
		return "audit"
	case 14:
		return "alert"
	case 15:
		return "clock"
	case 16:
		return "local0"
	case 17:
		return "local1"
	case 18:
		return "local2"
	case 19:
		return "local3"
	case 20:
		return "local4"
	case 21:
		return "local5"
	case 22:
		return "local6"
	case 23:
		return "local7"
	}
	return ""
}

// SeverityName returns the ECS severity name for code 0..7 (Emergency …
// Debug), or "" for any other code.
func SeverityName(code uint8) string {
	switch code {
	case 0:
		return "Emergency"
	case 1:
		return "Alert"
	case 2:
		return "Critical"
	case 3:
		return "Error"
	case 4:
		return "Warning"
	case 5:
		return "Notice"
	case 6:
		return "Informational"
	case 7:
		return "Debug"
	}
	return ""
}
