package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Syslog header formats the generator can produce.
const (
	formatRFC5424 = "rfc5424"
	formatRFC3164 = "rfc3164"
)

// Message size bounds. Receivers are compared on Kerio-sized lines (the perf
// reference used 238-291 B), so a line outside these bounds is drawn again
// with other values of the same variant rather than padded with filler.
const (
	minMessageLen = 200
	maxMessageLen = 350
	// attemptsPerVariant bounds the redraws before another variant is
	// tried, so that a hostname far too long cannot loop forever.
	attemptsPerVariant = 24
	maxAttempts        = 4 * attemptsPerVariant
)

// genConfig says what to generate. Equal configs give byte-identical output,
// so a run can be reproduced and two receivers fed the same lines.
type genConfig struct {
	Format   string    // formatRFC5424 or formatRFC3164
	Hostname string    // syslog HOSTNAME field
	App      string    // APP-NAME (RFC 5424) or TAG (RFC 3164); "" = each line's own Kerio log name
	Seed     uint64    // seed of the value generator
	Start    time.Time // timestamp of the first message; later ones advance a few ms each
}

// messages holds n generated messages back to back in one buffer: millions of
// separate slices would cost the garbage collector more than the sender.
type messages struct {
	buf  []byte
	ends []int // ends[i] is the offset just past message i
}

// newMessages returns an empty set with room for n messages of about size bytes.
func newMessages(n, size int) *messages {
	return &messages{buf: make([]byte, 0, n*size), ends: make([]int, 0, n)}
}

// Len returns the number of messages.
func (m *messages) Len() int { return len(m.ends) }

// At returns message i without framing. The slice aliases the shared buffer
// and must not be modified.
func (m *messages) At(i int) []byte {
	start := 0
	if i > 0 {
		start = m.ends[i-1]
	}
	return m.buf[start:m.ends[i]:m.ends[i]]
}

// generate builds n messages with sequence numbers 0..n-1. The sequence
// number sits in a header field no content parser looks at: the MSGID of
// RFC 5424 ("seq" + number) and the PID of the RFC 3164 tag
// ("security[42]:"), so a receiver can check completeness while the Kerio
// text stays as Kerio writes it.
func generate(cfg genConfig, n int) (*messages, error) {
	g, err := newGenerator(cfg)
	if err != nil {
		return nil, err
	}
	m := newMessages(n, 280)
	ts := cfg.Start.UTC()
	for seq := range n {
		// Kerio logs in bursts: a few milliseconds apart on average.
		ts = ts.Add(time.Duration(g.rng.IntN(4000)) * time.Microsecond)
		start, bodyStart := len(m.buf), 0
		var v variant
		for attempt := range maxAttempts {
			// The header depends only on the variant (its priority), so
			// redraws of the same variant only rebuild the text.
			if attempt%attemptsPerVariant == 0 {
				v = g.variants[g.rng.IntN(len(g.variants))]
				m.buf = g.appendHeader(m.buf[:start], v, seq, ts)
				bodyStart = len(m.buf)
			}
			m.buf = g.appendBody(m.buf[:bodyStart], v)
			if l := len(m.buf) - start; l >= minMessageLen && l <= maxMessageLen {
				break
			}
		}
		m.ends = append(m.ends, len(m.buf))
	}
	return m, nil
}

// field is a placeholder in a variant's text, filled with a generated value.
type field int

const (
	fieldNone field = iota
	fieldIP
	fieldPeer
	fieldPort
	fieldService
	fieldSASL
	fieldAuthReason
	fieldLocalUser
	fieldExternalAddr
	fieldRule
	fieldVirus
	fieldScore
	fieldThreshold
	fieldBlacklist
	fieldAttackReason
	fieldMinutes
)

// fieldNames maps the {name} used in variant texts to fields.
func fieldNames() map[string]field {
	return map[string]field{
		"ip": fieldIP, "peer": fieldPeer, "port": fieldPort, "service": fieldService, "sasl": fieldSASL,
		"authreason": fieldAuthReason, "user": fieldLocalUser, "ext": fieldExternalAddr,
		"rule": fieldRule, "virus": fieldVirus, "score": fieldScore, "threshold": fieldThreshold,
		"blacklist": fieldBlacklist, "attack": fieldAttackReason, "minutes": fieldMinutes,
	}
}

// segment is a literal followed by an optional field.
type segment struct {
	lit string
	f   field
}

// variant is one kind of Kerio log line, parsed once from its text so that
// generating a line is only appends.
type variant struct {
	app     string // the Kerio log's syslog APP-NAME ("security", "audit")
	pri     int    // syslog priority
	bracket bool   // starts with Kerio's "[02/Jan/2006 15:04:05] " timestamp
	segs    []segment
}

// The two Kerio Connect logs the generator writes: Kerio names each log in
// APP-NAME and gives it its own severity (facility mail = 2).
const (
	appSecurity = "security"
	appAudit    = "audit"
	priWarning  = 2*8 + 4 // security log entries
	priInfo     = 2*8 + 6 // audit log entries
)

// variantTexts are the message kinds, following the Kerio Connect security
// and audit log lines in testdata/kerio.
func variantTexts() []struct {
	app     string
	pri     int
	bracket bool
	text    string
} {
	return []struct {
		app     string
		pri     int
		bracket bool
		text    string
	}{
		{appSecurity, priWarning, true, "Failed {service} login from {ip}, {authreason}"},
		{appSecurity, priWarning, true, "SMTP: User {user} doesn't exist. Attempt from IP address {ip}."},
		{appSecurity, priWarning, true, "HTTP/WebMail: Invalid password for user {user}. Attempt from IP address {ip}."},
		{appSecurity, priWarning, true, "HTTP/KOFF: User {user} - login denied: Access Policy rule '{rule}' used. Attempt from IP address {ip}."},
		{appSecurity, priWarning, true, "Found virus in mail from <{ext}> to <{user}>: {virus}"},
		{appSecurity, priWarning, true, "Message from <{ext}> to <{user}> rejected by spam filter: score {score}, threshold {threshold}"},
		{appSecurity, priWarning, true, "Relay attempt from IP address {ip}, mail from <{ext}> to <{ext}> rejected"},
		{appSecurity, priWarning, true, "IP address {ip} found in DNS blacklist {blacklist}, mail from <{ext}> to <{user}> rejected"},
		{appSecurity, priWarning, true, "SMTP Spam attack detected from {ip}:{port}, {attack}"},
		{appSecurity, priWarning, true, "SMTP: AntiHammering - IP address {ip} will be blocked for {minutes} minutes, too many failed logins from this IP address."},
		{appSecurity, priWarning, true, "SPF check failed: The IP address '{ip}' is not in permitted set for sender '{ext}' (FAIL)"},
		{appSecurity, priWarning, true, "Attempt to deliver to unknown recipient <{user}>, from <{ext}>, IP address {ip}"},
		{appSecurity, priWarning, true, "Administration login into Web Administration from {ip} failed: IP address not allowed"},
		{appAudit, priInfo, true, "{service}: User {user} authenticated from IP address {ip}"},
	}
}

// parseVariant splits text at {name} placeholders.
func parseVariant(app string, pri int, bracket bool, text string) (variant, error) {
	names := fieldNames()
	v := variant{app: app, pri: pri, bracket: bracket}
	rest := text
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			v.segs = append(v.segs, segment{lit: rest})
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return v, fmt.Errorf("variant %q: unclosed {", text)
		}
		f, ok := names[rest[open+1:open+end]]
		if !ok {
			return v, fmt.Errorf("variant %q: unknown field %q", text, rest[open+1:open+end])
		}
		v.segs = append(v.segs, segment{lit: rest[:open], f: f})
		rest = rest[open+end+1:]
	}
	return v, nil
}

// generator draws the varying values. It is not safe for concurrent use.
type generator struct {
	rng      *rand.Rand
	cfg      genConfig
	v        vocabulary
	variants []variant
}

func newGenerator(cfg genConfig) (*generator, error) {
	if cfg.Format != formatRFC5424 && cfg.Format != formatRFC3164 {
		return nil, fmt.Errorf("format: want %s or %s, got %q", formatRFC5424, formatRFC3164, cfg.Format)
	}
	if cfg.Hostname == "" {
		return nil, fmt.Errorf("hostname must not be empty")
	}
	g := &generator{
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		cfg: cfg,
		v:   kerioVocabulary(),
	}
	for _, t := range variantTexts() {
		v, err := parseVariant(t.app, t.pri, t.bracket, t.text)
		if err != nil {
			return nil, err
		}
		g.variants = append(g.variants, v)
	}
	return g, nil
}

// appendMessage appends one complete syslog line (without framing).
func (g *generator) appendMessage(b []byte, v variant, seq int, ts time.Time) []byte {
	return g.appendBody(g.appendHeader(b, v, seq, ts), v)
}

// appendHeader appends the syslog header and, for variants that have it,
// Kerio's own bracketed timestamp.
func (g *generator) appendHeader(b []byte, v variant, seq int, ts time.Time) []byte {
	app := g.cfg.App
	if app == "" {
		app = v.app
	}
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(v.pri), 10)
	b = append(b, '>')
	switch g.cfg.Format {
	case formatRFC5424:
		b = append(b, "1 "...)
		b = ts.AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		b = append(b, ' ')
		b = append(b, g.cfg.Hostname...)
		b = append(b, ' ')
		b = append(b, app...)
		b = append(b, " - seq"...)
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, " - "...)
	default: // formatRFC3164
		b = ts.AppendFormat(b, time.Stamp)
		b = append(b, ' ')
		b = append(b, g.cfg.Hostname...)
		b = append(b, ' ')
		b = append(b, app...)
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(seq), 10)
		b = append(b, "]: "...)
	}
	if v.bracket {
		b = ts.AppendFormat(b, "[02/Jan/2006 15:04:05] ")
	}
	return b
}

// appendBody appends the variant's text with freshly drawn values.
func (g *generator) appendBody(b []byte, v variant) []byte {
	for _, s := range v.segs {
		b = append(b, s.lit...)
		b = g.appendField(b, s.f)
	}
	return b
}

// appendField appends a generated value for f.
func (g *generator) appendField(b []byte, f field) []byte {
	r := g.rng
	switch f {
	case fieldIP:
		return g.appendIP(b)
	case fieldPeer:
		// Where Kerio resolved the client it logs the reverse DNS name.
		if r.IntN(2) == 0 {
			return g.appendIP(b)
		}
		b = append(b, "dyn-"...)
		b = g.appendToken(b, 4+r.IntN(6))
		b = append(b, '.')
		return append(b, pick(r, g.v.externalDomains)...)
	case fieldPort:
		return strconv.AppendInt(b, int64(1024+r.IntN(64511)), 10)
	case fieldService:
		return append(b, pick(r, g.v.services)...)
	case fieldSASL:
		return append(b, pick(r, g.v.saslMethods)...)
	case fieldAuthReason:
		switch r.IntN(3) {
		case 0:
			b = append(b, "user "...)
			b = g.appendLocalUser(b)
			return append(b, " not found."...)
		case 1:
			b = append(b, "user "...)
			return g.appendLocalUser(b)
		default:
			return append(b, pick(r, g.v.authReasons)...)
		}
	case fieldLocalUser:
		return g.appendLocalUser(b)
	case fieldExternalAddr:
		return g.appendExternalAddr(b)
	case fieldRule:
		return append(b, pick(r, g.v.policyRules)...)
	case fieldVirus:
		return append(b, pick(r, g.v.viruses)...)
	case fieldScore:
		return appendDecimal(b, 5+r.IntN(20), r.IntN(100))
	case fieldThreshold:
		return appendDecimal(b, 4+r.IntN(4), 25*r.IntN(4))
	case fieldBlacklist:
		return append(b, pick(r, g.v.blacklists)...)
	case fieldAttackReason:
		return append(b, pick(r, g.v.spamAttackReasons)...)
	case fieldMinutes:
		return strconv.AppendInt(b, int64(1+r.IntN(30)), 10)
	default:
		return b
	}
}

// appendDecimal appends whole.frac with two fraction digits, e.g. "9.05".
func appendDecimal(b []byte, whole, frac int) []byte {
	b = strconv.AppendInt(b, int64(whole), 10)
	b = append(b, '.')
	if frac < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(frac), 10)
}

// appendIP appends an address from the documentation, private and a few
// public IPv4 ranges, or from 2001:db8::/32 (Kerio logs IPv6 peers too).
// It is only text in the message; nothing is sent there.
func (g *generator) appendIP(b []byte) []byte {
	r := g.rng
	if r.IntN(3) == 0 {
		b = append(b, "2001:db8:"...)
		for i := range 6 {
			if i > 0 {
				b = append(b, ':')
			}
			b = strconv.AppendUint(b, uint64(r.IntN(0x10000)), 16)
		}
		return b
	}
	b = append(b, pick(r, g.v.ipPrefixes)...)
	return strconv.AppendInt(b, int64(1+r.IntN(254)), 10)
}

// appendLocalUser appends a mailbox of the monitored domain, e.g.
// "anna.novak7@contoso.example".
func (g *generator) appendLocalUser(b []byte) []byte {
	r := g.rng
	b = append(b, pick(r, g.v.firstNames)...)
	b = append(b, '.')
	b = append(b, pick(r, g.v.lastNames)...)
	if r.IntN(2) == 0 {
		b = strconv.AppendInt(b, int64(r.IntN(100)), 10)
	}
	b = append(b, '@')
	return append(b, pick(r, g.v.localDomains)...)
}

// appendExternalAddr appends a sender address as spam and malware use
// them, often with a random local part.
func (g *generator) appendExternalAddr(b []byte) []byte {
	r := g.rng
	switch r.IntN(3) {
	case 0:
		b = append(b, pick(r, g.v.firstNames)...)
		b = append(b, '.')
		b = append(b, pick(r, g.v.lastNames)...)
	case 1:
		b = append(b, "noreply-"...)
		b = g.appendToken(b, 8+r.IntN(14))
	default:
		b = g.appendToken(b, 6+r.IntN(10))
	}
	b = append(b, '@')
	return append(b, pick(r, g.v.externalDomains)...)
}

// appendToken appends n random lower-case letters and digits.
func (g *generator) appendToken(b []byte, n int) []byte {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	// One 64-bit draw yields 12 base-36 digits.
	for n > 0 {
		x := g.rng.Uint64()
		for k := 0; k < 12 && n > 0; k, n = k+1, n-1 {
			b = append(b, alphabet[x%36])
			x /= 36
		}
	}
	return b
}

// pick returns a random element of s.
func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

// vocabulary holds the value lists the generator draws from. It is built per
// generator rather than kept in package variables, so nothing is shared.
type vocabulary struct {
	services          []string
	saslMethods       []string
	authReasons       []string
	policyRules       []string
	viruses           []string
	blacklists        []string
	spamAttackReasons []string
	ipPrefixes        []string
	firstNames        []string
	lastNames         []string
	localDomains      []string
	externalDomains   []string
}

// kerioVocabulary returns the lists used for Kerio Connect messages.
func kerioVocabulary() vocabulary {
	return vocabulary{
		services:    []string{"IMAP", "POP3", "SMTP", "HTTP", "LDAP", "XMPP", "HTTP/WebMail", "HTTP/ActiveSync"},
		saslMethods: []string{"PLAIN", "LOGIN", "CRAM-MD5", "DIGEST-MD5", "NTLM"},
		authReasons: []string{
			"authentication method PLAIN is disabled",
			"authentication method CRAM_MD5 is invalid or unknown",
			"error during authentication with method CRAM-MD5",
			"authentication with method CRAM-MD5 cancelled by user",
			"missing parameter in AUTHENTICATE header",
		},
		policyRules: []string{"Block external KOFF", "Allow only from VPN", "Deny legacy protocols", "Office hours only"},
		viruses: []string{
			"W32/Netsky.p@MM", "Trojan.PDF.Phishing.Gen", "Win32/Emotet.AX", "HTML/Phishing.Agent.CV",
			"JS/Downloader.Agent.NKH", "VBA/TrojanDownloader.Agent.YKL", "Win32/Qakbot.DM", "EICAR-Test-File",
		},
		blacklists: []string{"SpamCop", "SpamHaus SBL-XBL", "UCEProtect1", "ORDB", "Barracuda Reputation", "SORBS DNSBL"},
		spamAttackReasons: []string{
			"client closed connection before SMTP greeting",
			"client sent data before SMTP greeting",
		},
		ipPrefixes: []string{
			"192.0.2.", "198.51.100.", "203.0.113.", "10.20.30.", "10.0.5.", "172.16.4.",
			"192.168.36.", "185.220.101.", "45.95.147.", "212.92.127.",
		},
		firstNames:   []string{"anna", "john", "maria", "peter", "lucie", "tomas", "olga", "david", "eva", "martin", "sofia", "jan", "alexandra", "christopher", "magdalena", "sebastian"},
		lastNames:    []string{"novak", "doe", "svoboda", "smith", "dvorak", "mueller", "garcia", "kowalski", "larsen", "horvath", "van-der-berg", "nakamura", "fitzgerald", "oconnor"},
		localDomains: []string{"contoso-holding.example", "mail.contoso-holding.example", "branch-office.contoso-holding.example", "eu-west.corp.contoso-holding.example"},
		externalDomains: []string{
			"hotmail.example", "invoices-online.example", "deals.example", "bulk-mailer.example",
			"lottery.example", "partner.example", "oakspaversusa.example", "goodresponse.example",
			"broadband-provider.example", "cheap-hosting-cloud.example",
		},
	}
}
