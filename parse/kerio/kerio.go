// Package kerio recognises the log lines of Kerio Connect (mail server) and
// Kerio Control (firewall) and maps them onto ECS fields.
//
// Every layout is matched by hand: a switch on the first bytes picks the few
// candidate layouts, and strings.Index / strings.Cut take substrings of the
// message. No regular expression runs on the hot path, and the fields set on
// the document are substrings of the message, so a typical line costs a few
// hundred nanoseconds and no allocation. Unknown text never fails: it gets
// the kerio_generic or kerio_unmatched fallback, so nothing is dropped.
//
// It is part of the domain (parse/): it may import ecs, never the engine
// (siemfwd/pipeline), sources or sinks.
package kerio

import (
	"strings"
	"time"

	"siemfwd/ecs"
)

// Parser recognises Kerio log lines. It is owned by one worker goroutine and
// is not safe for concurrent use; it keeps no state between events except
// scratch space, so one Parser per worker is all that is needed.
type Parser struct {
	buf []byte // scratch for the rare lines that must be rewritten (doubled blanks)
	// out holds field values that are not substrings of the line (an
	// upper-cased MAC address). Fields alias it, so it is only reset by the
	// next Parse.
	out []byte
}

// NewParser returns a Parser ready for use.
func NewParser() *Parser { return &Parser{} }

// Hint tells the parser what the source knows about a line. Every member may
// be empty; the text is then recognised on its own.
type Hint struct {
	// Product is "kerio_connect", "kerio_control", or "" when unknown (Connect's
	// layouts are tried first, then Control's).
	Product string
	// Log is the configured log name ("security", "mail", "filter", …) or "".
	// It wins over AppName.
	Log string
	// AppName is the syslog APP-NAME or RFC 3164 tag, or "". Kerio's own names
	// (audit, security, warn, mail, …) select a log; any other name (such as a
	// configured "kerio") means the log is recognised from the text.
	AppName string
	// FileLine is true when msg is a whole line of a Kerio log file rather than
	// a syslog MSG. Kerio writes every file line after the bracketed time
	// except in the Control Http log, so such a line without it is broken
	// (truncated, or a copy-paste slip) and gets kerio_unmatched.
	FileLine bool
	// OnlyKerio is set when nothing but an APP-NAME or a file name suggests
	// Kerio (no source or profile names a Kerio product). The line is then
	// Kerio's only when its wording matches a Kerio layout or it starts with
	// Kerio's bracketed time: otherwise Parse returns Matched false and
	// leaves doc as it was, with no fallback fields, so the caller can map
	// the line as generic syslog.
	OnlyKerio bool
}

// Result reports what Parse recognised and the times the worker needs to
// choose @timestamp (docs/kerio.md §6.2).
type Result struct {
	// Matched is true when a Kerio envelope or layout was recognised, or the
	// kerio_generic fallback was applied; false means the kerio_unmatched
	// fallback was applied, or with Hint.OnlyKerio that doc was left alone.
	Matched bool
	// Bracket is the envelope's bracket time as wall clock in the given
	// location, or zero when the line had no envelope.
	Bracket time.Time
	// Zoned is a time inside the message that carries its own zone (Kerio
	// Control Http log, Apache or Squid format), or zero.
	Zoned time.Time
	// Dataset is the event.dataset set on doc; the zero Const when none was.
	Dataset ecs.Const
}

// Parse recognises msg (the text after any syslog header, or a whole file
// line; valid UTF-8, as the worker's charset step leaves it) and fills doc.
// loc interprets zone-less times (the bracket time and the Operations log's
// Delivered time); nil means UTC. Parse never fails: unknown text gets the
// docs/kerio.md §4 fallback, or with hint.OnlyKerio nothing at all. Fields set on
// doc may alias msg and the Parser's own buffer, which the next Parse reuses:
// encode doc first.
func (p *Parser) Parse(doc *ecs.Document, msg string, hint Hint, loc *time.Location) Result {
	if loc == nil {
		loc = time.UTC
	}
	msg = trimLine(msg)

	prod := productOf(hint.Product)
	lg := logOf(hint.Log)
	byApp := false // the log is only APP-NAME's guess, not configuration
	if lg == logUnknown {
		lg = logOf(hint.AppName)
		byApp = lg != logUnknown
	}
	if prod == prodUnknown {
		prod = onlyProduct[lg] // a log name that exists in one product only names it
	}

	p.out = p.out[:0]
	c := ctx{doc: doc, loc: loc, out: &p.out}
	res := &c.res
	kts, body, bracket, env := envelope(msg, loc)
	if !env {
		body = msg
	}

	var (
		mp product
		ml logID
		ok bool
	)
	switch {
	case !env && hint.FileLine:
		// Only the Http log has no bracket in its file.
		if (lg == logUnknown || lg == logHTTP) && prod != prodConnect && c.http(body) {
			mp, ml, ok = prodControl, logHTTP, true
		}
	default:
		mp, ml, ok = c.match(body, prod, lg, byApp)
	}
	if !ok && (env || !hint.FileLine) && strings.Contains(body, "  ") {
		// Doubled blanks: retry once on a collapsed copy; message keeps the original text.
		mp, ml, ok = c.match(p.collapse(body), prod, lg, byApp)
	}

	switch {
	case ok:
		res.Matched = true
		prod, lg = mp, ml
	case hint.OnlyKerio && !env:
		return *res // not Kerio's wording: the caller maps it as generic syslog
	case env || (!hint.FileLine && lg != logUnknown):
		// A Kerio line whose wording we do not know (it has the bracket, or
		// it came over syslog from a source or APP-NAME that names a Kerio
		// log): keep it, tagged.
		res.Matched = true
		doc.SetConst(keyEventKind, kEvent)
		doc.AppendString(keyTags, "kerio_generic")
	default:
		doc.SetConst(keyEventKind, kEvent)
		doc.SetString(keyMessage, msg)
		doc.AppendString(keyTags, "kerio_unmatched")
		c.common(prod, lg)
		return *res
	}
	if env {
		res.Bracket = bracket
		doc.SetString(keyKerioTimestamp, kts)
	}
	if c.hasMessage {
		body = c.message
	}
	doc.SetString(keyMessage, body)
	c.common(prod, lg)
	doc.SetConstNonEmpty(keyLogLevel, logLevel[lg])
	return *res
}

// common sets the module, dataset and observer fields every event carries.
func (c *ctx) common(prod product, lg logID) {
	d := c.doc
	d.SetConst(keyEventModule, modules[prod])
	c.res.Dataset = datasets[prod][lg]
	d.SetConst(keyEventDataset, c.res.Dataset)
	if prod != prodUnknown {
		d.SetConst(keyObserverVendor, valKerio)
		d.SetConst(keyObserverProduct, observerProducts[prod])
		d.SetConst(keyObserverType, observerTypes[prod])
	}
}

// match tries the layouts of the given product and log on body. With an
// unknown log every layout of the product is tried in docs/kerio.md §6.4/§6.5 order;
// with an unknown product Connect's layouts go before Control's. byApp says
// the log came from APP-NAME, which is only a hint (docs/kerio.md §6.3): a sender
// that names the wrong log, or one APP-NAME for several logs, gets its lines
// recognised from the text when the named log's layouts do not fit.
func (c *ctx) match(body string, prod product, lg logID, byApp bool) (product, logID, bool) {
	if body == "" {
		return prod, lg, false
	}
	if lg != logUnknown {
		if prod != prodControl && c.connectLog(lg, body, true) {
			return prodConnect, lg, true
		}
		if prod != prodConnect && c.controlLog(lg, body, true) {
			return prodControl, lg, true
		}
		if byApp {
			if p, l := c.recognize(body, prod); l != logUnknown {
				return p, l, true
			}
		}
		return prod, lg, false
	}
	if p, l := c.recognize(body, prod); l != logUnknown {
		return p, l, true
	}
	// The config log's catch-all ("user - anything") goes last, and only for
	// a plain login, so foreign "a - b" text is not taken for it.
	if c.configOther(body, true) {
		if prod == prodUnknown {
			prod = prodConnect
		}
		return prod, logConfig, true
	}
	return prod, lg, false
}

// connectLog runs the layouts of one Kerio Connect log.
func (c *ctx) connectLog(lg logID, m string, other bool) bool {
	switch lg {
	case logSecurity:
		return c.connectSecurity(m)
	case logAudit:
		return c.audit(m)
	case logMail:
		return c.mail(m)
	case logSpam:
		return c.spam(m)
	case logOperations:
		return c.operations(m)
	case logWarning:
		return c.warning(m)
	case logDebug:
		return c.debug(m)
	case logConfig:
		return c.config(m) || (other && c.configOther(m, false))
	}
	return false
}

// controlLog runs the layouts of one Kerio Control log.
func (c *ctx) controlLog(lg logID, m string, other bool) bool {
	switch lg {
	case logFilter:
		return c.filter(m)
	case logHTTP:
		return c.http(m)
	case logSecurity:
		return c.controlSecurity(m)
	case logConnection:
		return c.connection(m)
	case logDial:
		return c.dial(m)
	case logHost:
		return c.host(m)
	case logConfig:
		return c.config(m) || (other && c.configOther(m, false))
	}
	return false
}

// recognize tries the specific layouts of prod's logs (both products' when
// prod is unknown, Connect's first) and returns the log that matched, or
// logUnknown. The Config log's catch-all is not among them.
func (c *ctx) recognize(body string, prod product) (product, logID) {
	if prod != prodControl {
		if l := c.recognizeConnect(body); l != logUnknown {
			return prodConnect, l
		}
	}
	if prod != prodConnect {
		if l := c.recognizeControl(body); l != logUnknown {
			return prodControl, l
		}
	}
	return prod, logUnknown
}

// recognizeConnect tries every Kerio Connect layout and returns the log it
// belongs to, or logUnknown.
func (c *ctx) recognizeConnect(m string) logID {
	switch {
	case c.connectSecurity(m):
		return logSecurity
	case c.audit(m):
		return logAudit
	case c.mail(m):
		return logMail
	case c.spam(m):
		return logSpam
	case c.operations(m):
		return logOperations
	case c.warning(m):
		return logWarning
	case c.debug(m):
		return logDebug
	case c.config(m):
		return logConfig
	}
	return logUnknown
}

// recognizeControl tries every Kerio Control layout and returns the log it
// belongs to, or logUnknown.
func (c *ctx) recognizeControl(m string) logID {
	switch {
	case c.filter(m):
		return logFilter
	case c.http(m):
		return logHTTP
	case c.controlSecurity(m):
		return logSecurity
	case c.connection(m):
		return logConnection
	case c.dial(m):
		return logDial
	case c.host(m):
		return logHost
	case c.config(m):
		return logConfig
	}
	return logUnknown
}

// ctx carries what the layout functions write to.
type ctx struct {
	doc        *ecs.Document
	out        *[]byte // the Parser's out buffer
	loc        *time.Location
	res        Result
	message    string // replaces the message text when hasMessage is set
	hasMessage bool
}

// trimLine drops a leading UTF-8 BOM and trailing CR/LF.
func trimLine(s string) string {
	s = strings.TrimPrefix(s, "\uFEFF")
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// collapse returns s with every run of blanks shrunk to one blank.
func (p *Parser) collapse(s string) string {
	b := p.buf[:0]
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b = append(b, s[i])
	}
	p.buf = b
	return string(b)
}

// envelope reads the bracketed Kerio time "[D/Mon/YYYY HH:MM:SS] " at the
// start of s (docs/kerio.md §6.1; one- or two-digit day).
func envelope(s string, loc *time.Location) (kts, body string, t time.Time, ok bool) {
	if len(s) < 20 || s[0] != '[' {
		return
	}
	y, mon, d, r, ok := datePart(s[1:])
	if !ok || len(r) < 10 || r[0] != ' ' || r[9] != ']' {
		return "", "", time.Time{}, false
	}
	hh, mi, ss, ok := clock(r[1:9])
	if !ok {
		return "", "", time.Time{}, false
	}
	end := len(s) - len(r) + 9
	return s[1:end], trimLeftBlanks(s[end+1:]), time.Date(y, mon, d, hh, mi, ss, 0, loc), true
}

// kerioTime parses "D/Mon/YYYY HH:MM:SS" (the Operations log's Delivered time).
func kerioTime(s string, loc *time.Location) (time.Time, bool) {
	y, mon, d, r, ok := datePart(s)
	if !ok || len(r) != 9 || r[0] != ' ' {
		return time.Time{}, false
	}
	hh, mi, ss, ok := clock(r[1:])
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, mon, d, hh, mi, ss, 0, loc), true
}

// datePart parses "D/Mon/YYYY" (one- or two-digit day, English month) at
// the start of s and returns what follows.
func datePart(s string) (y int, mon time.Month, d int, rest string, ok bool) {
	i := 0
	for i < 2 && i < len(s) && isDigit(s[i]) {
		d = d*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || len(s) < i+9 || s[i] != '/' || s[i+4] != '/' || d < 1 || d > 31 {
		return 0, 0, 0, "", false
	}
	if mon = monthOf(s[i+1 : i+4]); mon == 0 {
		return 0, 0, 0, "", false
	}
	if y, ok = digits(s[i+5 : i+9]); !ok {
		return 0, 0, 0, "", false
	}
	return y, mon, d, s[i+9:], true
}

// clock parses "HH:MM:SS".
func clock(s string) (h, m, sec int, ok bool) {
	if len(s) != 8 || s[2] != ':' || s[5] != ':' {
		return
	}
	h, ok1 := digits(s[0:2])
	m, ok2 := digits(s[3:5])
	sec, ok3 := digits(s[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sec > 60 {
		return 0, 0, 0, false
	}
	return h, m, sec, true
}

// monthOf maps an English three-letter month to its number, 0 when unknown.
func monthOf(s string) time.Month {
	switch s {
	case "Jan":
		return time.January
	case "Feb":
		return time.February
	case "Mar":
		return time.March
	case "Apr":
		return time.April
	case "May":
		return time.May
	case "Jun":
		return time.June
	case "Jul":
		return time.July
	case "Aug":
		return time.August
	case "Sep":
		return time.September
	case "Oct":
		return time.October
	case "Nov":
		return time.November
	case "Dec":
		return time.December
	}
	return 0
}
