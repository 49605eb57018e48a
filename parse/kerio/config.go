package kerio

import (
	"strings"

	"siemfwd/ecs"
)

// config recognises the specific Config log lines shared by both products
// (docs/kerio.md §6.4.9): administration sessions, traffic-rule dumps and
// insert/update/delete statements. The catch-all is configOther.
func (c *ctx) config(m string) bool {
	u, r, ok := strings.Cut(m, " - ")
	if !ok || u == "" || r == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(r, "session "); ok {
		return c.session(u, rest)
	}
	if i := strings.Index(r, ": name=("); i > 0 {
		pos := r[:i]
		if pos != "default" && !isDigits(pos) {
			return false
		}
		c.event(kEvent, catConfig, typInfo, noOutcome, actTrafficRuleListed)
		c.user(u)
		c.doc.SetString(keyKerioConfigRulePosition, pos)
		return true
	}
	op, rest := word(r)
	var typ, action ecs.Const
	switch op {
	case "insert", "Insert":
		op, typ, action = "insert", typCreation, actConfigInsert
	case "update", "Update":
		op, typ, action = "update", typChange, actConfigUpdate
	case "delete", "Delete":
		op, typ, action = "delete", typDeletion, actConfigDelete
	default:
		return false
	}
	table, stmt := word(rest)
	if table == "" {
		return false
	}
	c.event(kEvent, catConfig, typ, success, action)
	c.user(u)
	c.doc.SetString(keyKerioConfigOperation, op)
	c.doc.SetString(keyKerioConfigTable, table)
	c.str(keyKerioConfigStatement, trimRightBlanks(stmt))
	return true
}

// session: "opened|closed for host IP[. User-Agent: UA]".
func (c *ctx) session(u, r string) bool {
	opened := true
	if rest, ok := strings.CutPrefix(r, "opened for host "); ok {
		r = rest
	} else if rest, ok := strings.CutPrefix(r, "closed for host "); ok {
		r, opened = rest, false
	} else {
		return false
	}
	h, ua, _ := strings.Cut(r, ". User-Agent: ")
	h = trimDot(trimRightBlanks(h))
	if !oneWord(h) {
		return false
	}
	if opened {
		c.event(kEvent, catAuthSession, typStart, success, actAdminSessionOpened)
	} else {
		c.event(kEvent, catSession, typEnd, success, actAdminSessionClosed)
	}
	c.user(u)
	c.addr(src, h)
	c.str(keyUserAgentOriginal, trimRightBlanks(ua))
	return true
}

// configOther is the Config log's catch-all "USER - text". When recognising
// a line without a known log (strict) the user must be one plain word, so
// foreign "a - b" text is not taken for a configuration change.
func (c *ctx) configOther(m string, strict bool) bool {
	u, text, ok := strings.Cut(m, " - ")
	text = trimRightBlanks(text)
	if !ok || u == "" || text == "" {
		return false
	}
	if strict && (!oneWord(u) || strings.ContainsAny(u, "[]<>:\"'")) {
		return false
	}
	c.event(kEvent, catConfig, typInfo, noOutcome, actConfigOther)
	c.user(u)
	c.message, c.hasMessage = text, true
	return true
}
