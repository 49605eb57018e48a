package kerio

import (
	"strings"
	"time"
)

// mail recognises the Kerio Connect Mail log (docs/kerio.md §6.4.4): the 6.0
// "SVC: From: …" lines, "Recv:" and "Sent:" lines with a Queue-ID, and the
// "SMTP Send:" lines.
func (c *ctx) mail(m string) bool {
	switch {
	case strings.HasPrefix(m, "Recv: Queue-ID:"):
		return c.recv("", m[len("Recv: Queue-ID:"):])
	case strings.HasPrefix(m, "Sent: Queue-ID:"):
		return c.sent(m[len("Sent: Queue-ID:"):])
	case strings.HasPrefix(m, "SMTP Send: "):
		return c.smtpSend(m[len("SMTP Send: "):])
	}
	svc, r, ok := serviceColon(m)
	if ok && oneWord(svc) && strings.HasPrefix(r, "From:") {
		return c.recv(svc, r)
	}
	return false
}

// mailKV holds the values of one Recv/Sent line's key scan.
type mailKV struct {
	service, from, to, size, senderHost, user, ssl, report, subject, msgID string
	recipient, result, status, remoteHost                                  string
	hasFrom                                                                bool
}

// scanKV reads "Key: value, Key: value, …" (docs/kerio.md §6.4.4 key scan). Address
// values are taken whole in angle brackets; Subject is free text up to
// ", Msg-Id: <" or the end; everything else ends at the next comma. Unknown
// keys are skipped, so a new key in a later version does not lose the line.
func scanKV(s string, kv *mailKV) bool {
	for s = trimLeftBlanks(s); s != ""; {
		i := strings.IndexByte(s, ':')
		if i <= 0 || i > 24 || !isKey(s[:i]) {
			return false
		}
		key := s[:i]
		s = trimLeftBlanks(s[i+1:])
		var v string
		switch key {
		case "From", "To", "Recipient", "Msg-Id":
			var ok bool
			if v, s, ok = addrValue(s, key == "To" || key == "Recipient"); !ok {
				return false
			}
		case "Subject":
			if j := strings.Index(s, "Msg-Id: <"); j >= 0 {
				if k := strings.LastIndexByte(s[:j], ','); k >= 0 && trimLeftBlanks(s[k+1:j]) == "" {
					v, s = s[:k], s[k:]
					break
				}
			}
			v, s = s, ""
		default:
			if j := strings.IndexByte(s, ','); j >= 0 {
				v, s = s[:j], s[j:]
			} else {
				v, s = s, ""
			}
		}
		v = trimRightBlanks(v)
		switch key {
		case "Service":
			kv.service = v
		case "From":
			kv.from, kv.hasFrom = v, true
		case "To":
			kv.to = v
		case "Size":
			kv.size = v
		case "Sender-Host":
			kv.senderHost = v
		case "User":
			kv.user = v
		case "SSL":
			kv.ssl = v
		case "Report":
			kv.report = v
		case "Subject":
			kv.subject = v
		case "Msg-Id":
			kv.msgID = v
		case "Recipient":
			kv.recipient = v
		case "Result":
			kv.result = v
		case "Status":
			kv.status = v
		case "Remote-Host":
			kv.remoteHost = v
		}
		s = trimLeftBlanks(s)
		if s == "" {
			break
		}
		if s[0] != ',' {
			return false
		}
		s = trimLeftBlanks(s[1:])
	}
	return true
}

// isKey reports whether s looks like a Mail log key ("Sender-Host", "Msg-Id").
func isKey(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-') {
			return false
		}
	}
	return true
}

// addrValue takes "<a>" (or, for lists, "<a>, <b>") from the start of s; a
// value without brackets ends at the next comma. An unclosed bracket is a
// broken line.
func addrValue(s string, list bool) (v, rest string, ok bool) {
	if len(s) == 0 || s[0] != '<' {
		if j := strings.IndexByte(s, ','); j >= 0 {
			return s[:j], s[j:], true
		}
		return s, "", true
	}
	end, cur := 0, s
	for {
		_, r, ok := angle(cur)
		if !ok {
			break
		}
		end = len(s) - len(r)
		next, ok := comma(r)
		if !list || !ok || len(next) == 0 || next[0] != '<' {
			break
		}
		cur = next
	}
	if end == 0 {
		return "", s, false
	}
	return s[:end], s[end:], true
}

// unangle strips the angle brackets of "<a>" (and the doubled "<<a>>").
func unangle(s string) string {
	for len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		s = s[1 : len(s)-1]
	}
	return s
}

// toList adds every address of "<a>, <b>" (or a bare address) to email.to.address.
func (c *ctx) toList(v string) {
	if len(v) == 0 || v[0] != '<' {
		c.to(v)
		return
	}
	for {
		a, r, ok := angle(v)
		if !ok {
			return
		}
		c.to(a)
		if v, ok = comma(r); !ok {
			return
		}
	}
}

// mailProtocol maps a Recv "Service:" value to network.protocol.
func mailProtocol(svc string) string {
	switch svc {
	case "SMTP":
		return "smtp"
	case "HTTP", "WebDAV", "Kerio Connect Client":
		return "http"
	case "POP3":
		return "pop3"
	case "IMAP":
		return "imap"
	}
	return ""
}

// recv: "Recv: Queue-ID: Q, Service: …" and the 6.0 "SVC: From: …".
func (c *ctx) recv(svc, r string) bool {
	var kv mailKV
	qid := ""
	if svc == "" {
		var ok bool
		qid, r, ok = strings.Cut(trimLeftBlanks(r), ",")
		qid = trimRightBlanks(qid)
		if !ok || !oneWord(qid) {
			return false
		}
	}
	if !scanKV(r, &kv) || (!kv.hasFrom && kv.to == "") {
		return false
	}
	if svc != "" {
		kv.service = svc
	}
	c.event(kEvent, catEmail, typInfo, success, actMessageReceived)
	c.str(keyEmailLocalID, qid)
	c.str(keyKerioMailService, kv.service)
	c.str(keyNetworkProtocol, mailProtocol(kv.service))
	c.from(unangle(kv.from))
	c.toList(kv.to)
	c.num(keyKerioMailSize, kv.size)
	c.addr(src, kv.senderHost)
	c.user(kv.user)
	c.tls(kv.ssl)
	c.str(keyKerioMailReport, kv.report)
	c.str(keyEmailSubject, kv.subject)
	c.str(keyEmailMessageID, unangle(kv.msgID))
	return true
}

// tls maps "SSL: yes|no" to tls.established.
func (c *ctx) tls(v string) {
	switch v {
	case "yes", "Yes", "YES":
		c.doc.SetBool(keyTLSEstablished, true)
	case "no", "No", "NO":
		c.doc.SetBool(keyTLSEstablished, false)
	}
}

// sent: "Sent: Queue-ID: Q, Recipient: <b>, Result: R, Status: S , Remote-Host: H, Msg-Id: <id>".
func (c *ctx) sent(r string) bool {
	qid, r, ok := strings.Cut(trimLeftBlanks(r), ",")
	qid = trimRightBlanks(qid)
	var kv mailKV
	if !ok || !oneWord(qid) || !scanKV(r, &kv) || kv.result == "" {
		return false
	}
	outcome := unknown
	switch kv.result {
	case "delivered", "relayed", "forwarded":
		outcome = success
	case "failed", "bounced", "rejected", "discarded":
		outcome = failure
	}
	c.event(kEvent, catEmail, typInfo, outcome, actMessageSent)
	c.doc.SetString(keyEmailLocalID, qid)
	c.toList(kv.recipient)
	c.doc.SetString(keyKerioMailResult, kv.result)
	c.str(keyKerioMailStatus, kv.status)
	c.hostPort(dst, kv.remoteHost)
	c.str(keyEmailMessageID, unangle(kv.msgID))
	return true
}

// smtpSend: queue runs, closed connections and discarded messages.
func (c *ctx) smtpSend(r string) bool {
	if host, ok := strings.CutPrefix(r, "closing connection to "); ok {
		host = trimRightBlanks(host)
		if !oneWord(host) {
			return false
		}
		c.event(kEvent, catNetwork, typEnd, noOutcome, actSMTPConnectionClosed)
		c.hostPort(dst, host)
		c.doc.SetConst(keyNetworkProtocol, protoSMTP)
		return true
	}
	if id, ok := strings.CutPrefix(r, "message "); ok {
		id, ok = strings.CutSuffix(trimRightBlanks(id), " discarded")
		if !ok || !oneWord(id) {
			return false
		}
		c.event(kEvent, catEmail, typInfo, failure, actMessageDiscarded)
		c.doc.SetString(keyEmailLocalID, unangle(id))
		return true
	}
	n, r := word(r)
	count, ok := atoi(n)
	if !ok {
		return false
	}
	r, ok = strings.CutPrefix(r, "outgoing message")
	if !ok {
		return false
	}
	r = strings.TrimPrefix(r, "s")
	r, ok = strings.CutPrefix(r, " processed in ")
	if !ok {
		return false
	}
	w, r := word(trimRightBlanks(r))
	var secs int64 = -1
	switch r {
	case "seconds", "second":
		if secs, ok = atoi(w); !ok {
			return false
		}
	case "queue run":
	default:
		return false
	}
	c.event(kEvent, catEmail, typInfo, noOutcome, actSMTPQueueRun)
	c.doc.SetInt(keyKerioMailProcessedCount, count)
	if secs >= 0 {
		c.doc.SetInt(keyEventDuration, seconds(secs))
	}
	return true
}

// spam recognises the Kerio Connect Spam log (docs/kerio.md §6.4.5).
func (c *ctx) spam(m string) bool {
	if r, ok := strings.CutPrefix(m, "Message marked as spam with score"); ok {
		return c.spamMarked(r)
	}
	r, ok := strings.CutPrefix(m, "User ")
	if !ok {
		return false
	}
	u, r, ok := strings.Cut(r, " marked a message")
	if !ok || !oneWord(u) {
		return false
	}
	if r, ok = lit(r, "as "); !ok {
		return false
	}
	action := actUserMarkedSpam
	if r2, ok := strings.CutPrefix(r, "not spam,"); ok {
		r, action = r2, actUserMarkedNotSpam
	} else if r, ok = strings.CutPrefix(r, "spam,"); !ok {
		return false
	}
	if r, ok = lit(r, "Folder: "); !ok {
		return false
	}
	folder, r, ok := strings.Cut(r, ", Size: ")
	if !ok {
		return false
	}
	size, r, ok := strings.Cut(r, ", From: ")
	if !ok || !isDigits(size) {
		return false
	}
	from, subject, ok := cutSubject(r)
	if !ok {
		return false
	}
	name, addr := displayAddr(from)
	c.event(kEvent, catEmail, typInfo, noOutcome, action)
	c.user(u)
	c.str(keyKerioSpamFolder, folder)
	c.num(keyKerioMailSize, size)
	c.from(addr)
	c.str(keyKerioMailFromName, name)
	c.str(keyEmailSubject, subject)
	return true
}

// cutSubject splits "FROM, Subject: S" (S may be empty, the blank too).
func cutSubject(r string) (from, subject string, ok bool) {
	i := strings.LastIndex(r, ", Subject:")
	if i < 0 {
		return "", "", false
	}
	return trimRightBlanks(r[:i]), trimRightBlanks(trimLeftBlanks(r[i+len(", Subject:"):])), true
}

// spamMarked: ": 8.00, To: a, Message size: N, From: b, Subject: S".
func (c *ctx) spamMarked(r string) bool {
	r, _ = lit(r, ":")
	score, r, ok := strings.Cut(trimLeftBlanks(r), ",")
	v, ok1 := decimal(trimRightBlanks(score))
	if !ok || !ok1 {
		return false
	}
	if r, ok = lit(r, "To:"); !ok {
		return false
	}
	to, r, ok := strings.Cut(r, ", Message size:")
	if !ok {
		return false
	}
	size, r, ok := strings.Cut(trimLeftBlanks(r), ",")
	if !ok || !isDigits(size) {
		return false
	}
	if r, ok = lit(r, "From:"); !ok {
		return false
	}
	from, subject, ok := cutSubject(r)
	if !ok {
		return false
	}
	c.event(kEvent, catEmail, typInfo, noOutcome, actMessageMarkedSpam)
	c.doc.SetFloat(keyKerioSpamScore, v)
	c.toList(trimLeftBlanks(to))
	c.num(keyKerioMailSize, size)
	c.from(unangle(trimLeftBlanks(from)))
	c.str(keyEmailSubject, subject)
	return true
}

// displayAddr splits `"Name" <addr>`, `Name <addr>`, `<addr>` or `addr`.
func displayAddr(s string) (name, addr string) {
	s = trimRightBlanks(trimLeftBlanks(s))
	i := strings.LastIndexByte(s, '<')
	if i < 0 || s[len(s)-1] != '>' {
		return "", s
	}
	addr = s[i+1 : len(s)-1]
	name = trimRightBlanks(s[:i])
	if len(name) >= 2 && name[0] == '"' && name[len(name)-1] == '"' {
		name = name[1 : len(name)-1]
	}
	return name, addr
}

// operations recognises the Kerio Connect Operations log (docs/kerio.md §6.4.6).
func (c *ctx) operations(m string) bool {
	if len(m) < 4 || m[0] != '{' {
		return false
	}
	op, r, ok := strings.Cut(m[1:], "} ")
	if !ok || op == "" || !isOp(op) {
		return false
	}
	if op == "DELETE_FOLDER" {
		r, ok = strings.CutPrefix(r, "Folder: ")
		folder, ok2 := strings.CutSuffix(trimRightBlanks(r), " deleted")
		if !ok || !ok2 || folder == "" {
			return false
		}
		c.event(kEvent, catFile, typDeletion, success, actFolderDeleted)
		c.doc.SetString(keyKerioOperationsType, op)
		c.doc.SetString(keyKerioOperationsFolder, folder)
		return true
	}
	var o opLine
	if !o.parse(r, c) {
		return false
	}
	switch op {
	case "DELETE":
		c.event(kEvent, catEmailFile, typInfoDeletion, success, actItemDeleted)
	case "MOVE":
		c.event(kEvent, catEmailFile, typInfoChange, success, actItemMoved)
	default:
		c.event(kEvent, catEmailFile, typInfo, success, actItemOperation)
	}
	c.doc.SetString(keyKerioOperationsType, op)
	c.service(o.proto)
	c.user(o.user)
	c.addr(src, o.ip)
	c.str(keyKerioOperationsFolder, o.folder)
	c.str(keyKerioOperationsDestinationFolder, o.dest)
	name, addr := displayAddr(o.from)
	c.from(addr)
	c.str(keyKerioMailFromName, name)
	c.str(keyEmailSubject, o.subject)
	c.str(keyEmailMessageID, unangle(o.msgID))
	c.doc.SetTime(keyKerioOperationsDelivered, o.delivered)
	c.num(keyKerioOperationsSize, o.size)
	return true
}

// isOp reports whether s is an upper-case operation name like DELETE_FOLDER.
func isOp(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; !(b >= 'A' && b <= 'Z' || b == '_') {
			return false
		}
	}
	return true
}

// opLine is one item line of the Operations log.
type opLine struct {
	proto, user, ip, folder, dest, from, subject, msgID, size string
	delivered                                                 time.Time
}

// parse reads "Protocol: P, User: U, IP: I, Folder: F[, Destination Folder: D],
// From: X, Subject: "S"[, Msg-Id: <<id>>], Delivered: T, Size: N". The head is
// read forwards and the tail backwards, so a subject may hold commas.
func (o *opLine) parse(r string, c *ctx) bool {
	var ok bool
	if r, ok = strings.CutPrefix(r, "Protocol: "); !ok {
		return false
	}
	if o.proto, r, ok = strings.Cut(r, ", User: "); !ok {
		return false
	}
	if o.user, r, ok = strings.Cut(r, ", IP: "); !ok {
		return false
	}
	if o.ip, r, ok = strings.Cut(r, ", Folder: "); !ok {
		return false
	}
	r = trimRightBlanks(r)
	i := strings.LastIndex(r, ", Size: ")
	if i < 0 || !isDigits(r[i+len(", Size: "):]) {
		return false
	}
	o.size, r = r[i+len(", Size: "):], r[:i]
	i = strings.LastIndex(r, ", Delivered: ")
	if i < 0 {
		return false
	}
	t, ok := kerioTime(r[i+len(", Delivered: "):], c.loc)
	if !ok {
		return false
	}
	o.delivered, r = t, r[:i]
	if strings.HasSuffix(r, ">") {
		if i = strings.LastIndex(r, ", Msg-Id: <"); i >= 0 {
			o.msgID, r = r[i+len(", Msg-Id: "):], r[:i]
		}
	}
	i = strings.Index(r, `, Subject: "`)
	if i < 0 || !strings.HasSuffix(r, `"`) || len(r) < i+len(`, Subject: "`)+1 {
		return false
	}
	o.subject, r = r[i+len(`, Subject: "`):len(r)-1], r[:i]
	i = strings.Index(r, ", From: ")
	if i < 0 {
		return false
	}
	o.from, r = r[i+len(", From: "):], r[:i]
	if f, d, ok := strings.Cut(r, ", Destination Folder: "); ok {
		o.folder, o.dest = f, d
	} else {
		o.folder = r
	}
	return o.proto != "" && o.folder != ""
}

// warning recognises the two public Kerio Connect Warning log wordings (docs/kerio.md §6.4.7).
func (c *ctx) warning(m string) bool {
	if r, ok := strings.CutPrefix(m, "No local mailbox "); ok {
		to, x, ok := strings.Cut(r, ", expanded from ")
		x = trimRightBlanks(x)
		if !ok || !oneWord(to) || !oneWord(x) {
			return false
		}
		c.event(kEvent, catEmail, typInfo, failure, actNoLocalMailbox)
		c.to(unangle(to))
		c.doc.SetString(keyKerioMailExpandedFrom, unangle(x))
		return true
	}
	if r, ok := strings.CutPrefix(m, "Address "); ok {
		to, r, ok := angle(r)
		if !ok || trimRightBlanks(r) != " expanded to zero recipients" {
			return false
		}
		c.event(kEvent, catEmail, typInfo, failure, actAddressExpandedToZero)
		c.to(to)
		return true
	}
	return false
}

// debug recognises the 2FA lockout line of the Kerio Connect Debug log (docs/kerio.md §6.4.8).
func (c *ctx) debug(m string) bool {
	r, ok := strings.CutPrefix(m, "Too many false 2FA attempts for user: '")
	if !ok {
		return false
	}
	u, tail, ok := strings.Cut(r, "'")
	if !ok || u == "" {
		return false
	}
	c.event(kEvent, catAuth, typInfo, failure, act2FALockout)
	c.user(u)
	if tail, ok = comma(tail); ok {
		c.str(keyEventReason, trimRightBlanks(tail))
	}
	return true
}
