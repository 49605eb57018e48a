package kerio

import (
	"fmt"
	"strings"
	"time"

	"siemfwd/ecs"
)

// product is a Kerio product; its values index the name tables below.
type product uint8

const (
	prodUnknown product = iota
	prodConnect
	prodControl
	numProducts
)

// logID is a Kerio log; its values index the name tables below.
type logID uint8

const (
	logUnknown logID = iota
	logSecurity
	logAudit
	logMail
	logSpam
	logOperations
	logWarning
	logError
	logDebug
	logConfig
	logFilter
	logHTTP
	logConnection
	logAlert
	logDial
	logHost
	logSslvpn
	logWeb
	numLogs
)

// logNames are the dataset suffixes; an unknown log becomes "generic".
var logNames = [numLogs]string{
	"generic", "security", "audit", "mail", "spam", "operations", "warning", "error", "debug",
	"config", "filter", "http", "connection", "alert", "dial", "host", "sslvpn", "web",
}

// moduleNames are the event.module values; "kerio" when the product is unknown.
var moduleNames = [numProducts]string{"kerio", "kerio_connect", "kerio_control"}

// The constant values of event.module, observer.product and observer.type
// per product (none for an unknown product), and of log.level per log.
var (
	modules          = [numProducts]ecs.Const{ecs.NewConst("kerio"), ecs.NewConst("kerio_connect"), ecs.NewConst("kerio_control")}
	observerProducts = [numProducts]ecs.Const{{}, ecs.NewConst("Kerio Connect"), ecs.NewConst("Kerio Control")}
	observerTypes    = [numProducts]ecs.Const{{}, ecs.NewConst("mail-server"), ecs.NewConst("firewall")}
	logLevel         = [numLogs]ecs.Const{logWarning: ecs.NewConst("warning"), logError: ecs.NewConst("error"), logDebug: ecs.NewConst("debug")}
)

// datasets holds every "<module>.<log>" value of event.dataset.
var datasets = func() (t [numProducts][numLogs]ecs.Const) {
	for p := range numProducts {
		for l := range numLogs {
			t[p][l] = ecs.NewConst(moduleNames[p] + "." + logNames[l])
		}
	}
	return t
}()

// onlyProduct names the product of logs that exist in one product only.
var onlyProduct = [numLogs]product{
	logAudit: prodConnect, logMail: prodConnect, logSpam: prodConnect, logOperations: prodConnect,
	logFilter: prodControl, logHTTP: prodControl, logConnection: prodControl, logAlert: prodControl,
	logDial: prodControl, logHost: prodControl, logSslvpn: prodControl, logWeb: prodControl,
}

// CheckProduct reports whether s may configure a source's product: an error
// for anything but "kerio_connect", "kerio_control", "kerio" (Kerio, the
// product told by the text) or "" (no Kerio product named).
func CheckProduct(s string) error {
	switch s {
	case "", "kerio", "kerio_connect", "kerio_control":
		return nil
	}
	return fmt.Errorf(`must be "kerio_connect", "kerio_control", "kerio" (either, told by the text) or "" (Kerio only when APP-NAME and wording say so), got %q`, s)
}

// productOf maps Hint.Product.
func productOf(s string) product {
	switch s {
	case "kerio_connect", "connect":
		return prodConnect
	case "kerio_control", "control":
		return prodControl
	}
	return prodUnknown
}

// logAliases maps log names and Kerio's syslog APP-NAMEs (docs/kerio.md §6.3) to logs.
var logAliases = [...]struct {
	name string
	log  logID
}{
	{"security", logSecurity}, {"audit", logAudit}, {"mail", logMail}, {"spam", logSpam},
	{"operations", logOperations}, {"warn", logWarning}, {"warning", logWarning},
	{"error", logError}, {"debug", logDebug}, {"config", logConfig}, {"filter", logFilter},
	{"http", logHTTP}, {"connection", logConnection}, {"alert", logAlert}, {"dial", logDial},
	{"host", logHost}, {"sslvpn", logSslvpn}, {"web", logWeb},
}

// IsAppName reports whether name, an RFC 3164 tag, RFC 5424 APP-NAME or log
// file name, is one Kerio uses: a log name (docs/kerio.md §6.3, in any case) or
// "kerio", the usual configured application name. Such a line is Kerio's
// only when its wording matches too (Hint.OnlyKerio).
func IsAppName(name string) bool {
	return logOf(name) != logUnknown || strings.EqualFold(name, "kerio")
}

// logOf maps a log name or APP-NAME, in any case, to a log. Kerio's own
// lower-case names take one switch; only other spellings scan logAliases.
func logOf(s string) logID {
	switch s {
	case "":
		return logUnknown
	case "security":
		return logSecurity
	case "audit":
		return logAudit
	case "mail":
		return logMail
	case "spam":
		return logSpam
	case "operations":
		return logOperations
	case "warn", "warning":
		return logWarning
	case "error":
		return logError
	case "debug":
		return logDebug
	case "config":
		return logConfig
	case "filter":
		return logFilter
	case "http":
		return logHTTP
	case "connection":
		return logConnection
	case "alert":
		return logAlert
	case "dial":
		return logDial
	case "host":
		return logHost
	case "sslvpn":
		return logSslvpn
	case "web":
		return logWeb
	case "kerio":
		return logUnknown // the usual configured name for every log
	}
	if len(s) > 10 {
		return logUnknown
	}
	for _, a := range logAliases {
		if len(a.name) == len(s) && strings.EqualFold(a.name, s) {
			return a.log
		}
	}
	return logUnknown
}

// Categorisation values (docs/kerio.md §6.4, §6.5).
var (
	catAuth        = ecs.NewConstStrings("authentication")
	catAuthSession = ecs.NewConstStrings("authentication", "session")
	catConfig      = ecs.NewConstStrings("configuration")
	catEmail       = ecs.NewConstStrings("email")
	catEmailFile   = ecs.NewConstStrings("email", "file")
	catEmailMal    = ecs.NewConstStrings("email", "malware")
	catEmailNet    = ecs.NewConstStrings("email", "network")
	catFile        = ecs.NewConstStrings("file")
	catHost        = ecs.NewConstStrings("host")
	catIDSNet      = ecs.NewConstStrings("intrusion_detection", "network")
	catNetwork     = ecs.NewConstStrings("network")
	catNetworkWeb  = ecs.NewConstStrings("network", "web")
	catSession     = ecs.NewConstStrings("session")
	catWeb         = ecs.NewConstStrings("web")

	typAccess        = ecs.NewConstStrings("access")
	typAllowedAccess = ecs.NewConstStrings("allowed", "access")
	typAllowedConn   = ecs.NewConstStrings("allowed", "connection")
	typChange        = ecs.NewConstStrings("change")
	typConnEnd       = ecs.NewConstStrings("connection", "end")
	typConnStart     = ecs.NewConstStrings("connection", "start")
	typCreation      = ecs.NewConstStrings("creation")
	typDeletion      = ecs.NewConstStrings("deletion")
	typDenied        = ecs.NewConstStrings("denied")
	typDeniedAccess  = ecs.NewConstStrings("denied", "access")
	typDeniedConn    = ecs.NewConstStrings("denied", "connection")
	typEnd           = ecs.NewConstStrings("end")
	typInfo          = ecs.NewConstStrings("info")
	typInfoChange    = ecs.NewConstStrings("info", "change")
	typInfoDeletion  = ecs.NewConstStrings("info", "deletion")
	typInfoDenied    = ecs.NewConstStrings("info", "denied")
	typStart         = ecs.NewConstStrings("start")
)

// Outcomes and kinds; noOutcome leaves event.outcome unset.
var (
	success   = ecs.NewConst("success")
	failure   = ecs.NewConst("failure")
	unknown   = ecs.NewConst("unknown")
	noOutcome ecs.Const
	kEvent    = ecs.NewConst("event")
	kAlert    = ecs.NewConst("alert")
)

// event sets the categorisation fields; noOutcome leaves event.outcome unset.
func (c *ctx) event(kind, cat, typ, outcome, action ecs.Const) {
	d := c.doc
	d.SetConst(keyEventKind, kind)
	d.SetConst(keyEventCategory, cat)
	d.SetConst(keyEventType, typ)
	d.SetConstNonEmpty(keyEventOutcome, outcome)
	d.SetConst(keyEventAction, action)
}

// str sets key to v unless v is empty.
func (c *ctx) str(key ecs.Key, v string) {
	if v != "" {
		c.doc.SetString(key, v)
	}
}

// num sets key to the decimal number in s, if it is one.
func (c *ctx) num(key ecs.Key, s string) {
	if n, ok := atoi(s); ok {
		c.doc.SetInt(key, n)
	}
}

// endpoint names the fields of source or destination.
type endpoint struct{ ip, domain, address, port, mac, user ecs.Key }

var (
	src = endpoint{ecs.NewKey("source.ip"), ecs.NewKey("source.domain"), ecs.NewKey("source.address"), ecs.NewKey("source.port"), ecs.NewKey("source.mac"), ecs.NewKey("source.user.name")}
	dst = endpoint{ecs.NewKey("destination.ip"), ecs.NewKey("destination.domain"), ecs.NewKey("destination.address"), ecs.NewKey("destination.port"), ecs.NewKey("destination.mac"), ecs.NewKey("destination.user.name")}
)

// addr files s as an IP literal (ip + related.ip), a host name (domain) or
// anything else (address).
func (c *ctx) addr(e endpoint, s string) {
	switch {
	case s == "" || s == "-":
	case isIP(s):
		c.doc.SetString(e.ip, s)
		c.doc.AppendUnique(keyRelatedIP, s)
	case isHostname(s):
		c.doc.SetString(e.domain, s)
	default:
		c.doc.SetString(e.address, s)
	}
}

// hostPort files "ip", "ip:port", "[v6]:port" or "name:port".
func (c *ctx) hostPort(e endpoint, s string) {
	if isIP(s) {
		c.addr(e, s)
		return
	}
	h, p := splitHostPort(s)
	c.addr(e, h)
	if p != "" {
		c.num(e.port, p)
	}
}

// splitHostPort splits "host:port" or "[v6]:port"; port is "" when there is
// no numeric port.
func splitHostPort(s string) (host, port string) {
	if len(s) > 0 && s[0] == '[' {
		if i := strings.Index(s, "]:"); i > 0 && isDigits(s[i+2:]) {
			return s[1:i], s[i+2:]
		}
		return strings.Trim(s, "[]"), ""
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || !isDigits(s[i+1:]) {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// user sets user.name (the login exactly as logged), user.domain and related.user.
func (c *ctx) user(u string) {
	if u == "" || u == "-" {
		return
	}
	c.doc.SetString(keyUserName, u)
	if i := strings.LastIndexByte(u, '@'); i >= 0 && i < len(u)-1 {
		c.doc.SetString(keyUserDomain, u[i+1:])
	}
	c.doc.AppendUnique(keyRelatedUser, u)
}

// from sets the sender; the null reverse path <> leaves it absent.
func (c *ctx) from(a string) {
	if a != "" {
		c.doc.SetString(keyEmailFromAddress, a)
	}
}

// to adds a recipient; email.to.address is always an array.
func (c *ctx) to(a string) {
	if a != "" {
		c.doc.AppendString(keyEmailToAddress, a)
	}
}

// service sets kerio.service and, when known, network.protocol.
func (c *ctx) service(svc string) {
	c.str(keyKerioService, svc)
	c.protocol(svc)
}

// protocol sets network.protocol when svc names one.
func (c *ctx) protocol(svc string) {
	c.doc.SetConstNonEmpty(keyNetworkProtocol, protocolOf(svc))
}

// network.protocol values.
var (
	protoDNS   = ecs.NewConst("dns")
	protoFTP   = ecs.NewConst("ftp")
	protoHTTP  = ecs.NewConst("http")
	protoHTTPS = ecs.NewConst("https")
	protoIMAP  = ecs.NewConst("imap")
	protoLDAP  = ecs.NewConst("ldap")
	protoNNTP  = ecs.NewConst("nntp")
	protoPOP3  = ecs.NewConst("pop3")
	protoSMTP  = ecs.NewConst("smtp")
	protoXMPP  = ecs.NewConst("xmpp")
)

// protocolOf maps a Kerio service string to a lower-case network.protocol,
// or the zero Const when it names no protocol.
func protocolOf(svc string) ecs.Const {
	if i := strings.IndexByte(svc, '/'); i > 0 {
		svc = svc[:i] // HTTP/WebMail, HTTP/KOFF, HTTP/ActiveSync
	}
	switch svc { // the usual spellings, without case folding
	case "IMAP":
		return protoIMAP
	case "POP3":
		return protoPOP3
	case "SMTP":
		return protoSMTP
	case "HTTP":
		return protoHTTP
	}
	switch {
	case strings.EqualFold(svc, "IMAP"), strings.EqualFold(svc, "IMAPS"):
		return protoIMAP
	case strings.EqualFold(svc, "POP3"), strings.EqualFold(svc, "POP3S"):
		return protoPOP3
	case strings.EqualFold(svc, "SMTP"), strings.EqualFold(svc, "SMTPS"):
		return protoSMTP
	case strings.EqualFold(svc, "HTTP"), svc == "Web Administration", svc == "WebAdmin",
		svc == "WebInterface", svc == "HTTP Proxy", svc == "Proxy", svc == "WebDAV",
		svc == "Kerio Connect Client", svc == "WebMail":
		return protoHTTP
	case strings.EqualFold(svc, "HTTPS"), svc == "WebAdmin SSL":
		return protoHTTPS
	case strings.EqualFold(svc, "LDAP"), strings.EqualFold(svc, "LDAPS"):
		return protoLDAP
	case strings.EqualFold(svc, "NNTP"):
		return protoNNTP
	case strings.EqualFold(svc, "XMPP"):
		return protoXMPP
	case strings.EqualFold(svc, "FTP"):
		return protoFTP
	case strings.EqualFold(svc, "DNS"):
		return protoDNS
	}
	return ecs.Const{}
}

// transportOf lower-cases a protocol name from a packet or connection line.
func transportOf(p string) string {
	switch p {
	case "TCP", "tcp":
		return "tcp"
	case "UDP", "udp":
		return "udp"
	case "ICMP", "icmp":
		return "icmp"
	case "ICMPv6", "IPV6-ICMP", "ipv6-icmp":
		return "ipv6-icmp"
	case "GRE", "gre":
		return "gre"
	case "ESP", "esp":
		return "esp"
	case "AH", "ah":
		return "ah"
	}
	return lowerToken(p)
}

// lowerToken lower-cases a short ASCII token; it allocates only when the
// token has upper-case letters, and returns "" for anything else.
func lowerToken(s string) string {
	if s == "" || len(s) > 32 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_') {
			return ""
		}
	}
	return strings.ToLower(s)
}

// isIP reports whether s is an IPv4 or IPv6 literal without a zone, as
// netip.ParseAddr would tell, but by hand: netip's parsing showed in profiles
// (its error allocates, and it builds an address nobody uses).
func isIP(s string) bool {
	if len(s) < 2 || len(s) > 45 {
		return false
	}
	if strings.IndexByte(s, ':') < 0 {
		return isIPv4(s)
	}
	return isIPv6(s)
}

// isIPv6 reports whether s is an IPv6 address without a zone as netip
// accepts it: groups of one to four hex digits, at most one "::" standing
// for at least one zero group, and a dotted quad in place of the last two
// groups. It follows netip's parseIPv6 step by step without building the
// address (the caller keeps the text as it is); i counts the address bytes
// read, p the bytes of s.
func isIPv6(s string) bool {
	ellipsis, i, p := -1, 0, 0 // ellipsis: where "::" stands in the address
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		if len(s) == 2 {
			return true
		}
		ellipsis, p = 0, 2
	}
	for i < 16 {
		start := p
		for p < len(s) && isHex(s[p]) {
			if p-start == 4 {
				return false
			}
			p++
		}
		if p == start {
			return false
		}
		i += 2
		if p == len(s) {
			break
		}
		switch s[p] {
		case '.': // the group was the first number of a dotted quad
			i += 2
			return i <= 16 && (i == 16) == (ellipsis < 0) && isIPv4(s[start:])
		case ':':
		default:
			return false
		}
		p++
		if p == len(s) {
			return false
		}
		if s[p] == ':' {
			if ellipsis >= 0 {
				return false
			}
			ellipsis = i
			p++
			if p == len(s) {
				break
			}
		}
	}
	return p == len(s) && (i == 16) == (ellipsis < 0)
}

func isHex(b byte) bool { return b-'0' < 10 || (b|0x20)-'a' < 6 }

// isIPv4 reports whether s is a dotted quad as netip.ParseAddr accepts it
// (no leading zeros), without netip's work of building the address: most
// addresses in Kerio lines are IPv4, several per line.
func isIPv4(s string) bool {
	dots, val, n := 0, 0, 0
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b == '.' {
			if n == 0 || dots == 3 {
				return false
			}
			dots, val, n = dots+1, 0, 0
			continue
		}
		if b < '0' || b > '9' || (n == 1 && val == 0) {
			return false
		}
		val, n = val*10+int(b-'0'), n+1
		if val > 255 {
			return false
		}
	}
	return dots == 3 && n > 0
}

// isHostname reports whether s looks like a DNS name (letters, digits, '-', '_', '.').
func isHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// digits parses a short run of decimal digits as an int.
func digits(s string) (int, bool) {
	n, ok := atoi(s)
	return int(n), ok
}

// atoi parses an unsigned decimal number of at most 18 digits without
// allocating (strconv allocates its error on failure).
func atoi(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < '0' || b > '9' {
			return 0, false
		}
		n = n*10 + int64(b-'0')
	}
	return n, true
}

// decimal parses "-12.34" style numbers (spam scores) without strconv's error allocation.
func decimal(s string) (float64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	ip, fp, _ := strings.Cut(s, ".")
	if ip == "" && fp == "" || len(fp) > 9 {
		return 0, false
	}
	var i, f int64
	var ok bool
	if ip != "" {
		if i, ok = atoi(ip); !ok {
			return 0, false
		}
	}
	scale := 1.0
	if fp != "" {
		if f, ok = atoi(fp); !ok {
			return 0, false
		}
		for range len(fp) {
			scale *= 10
		}
	}
	v := float64(i) + float64(f)/scale
	if neg {
		v = -v
	}
	return v, true
}

// ipRun splits a leading IP-literal-looking run ([0-9A-Fa-f:.]) off s. A
// trailing full stop belongs to the sentence, not to the address.
func ipRun(s string) (ip, rest string) {
	i := 0
	for i < len(s) {
		b := s[i]
		if b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F' || b == ':' || b == '.' {
			i++
			continue
		}
		break
	}
	if i > 0 && s[i-1] == '.' {
		i--
	}
	return s[:i], s[i:]
}

// word splits s at the first blank.
func word(s string) (w, rest string) {
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// angle reads "<addr>" at the start of s (blanks before it allowed) and returns
// addr and what follows the '>'.
func angle(s string) (addr, rest string, ok bool) {
	s = trimLeftBlanks(s)
	if len(s) < 2 || s[0] != '<' {
		return "", s, false
	}
	i := strings.IndexByte(s, '>')
	if i < 0 || strings.IndexByte(s[1:i], '<') >= 0 {
		return "", s, false
	}
	return s[1:i], s[i+1:], true
}

// lit consumes the literal w at the start of s, allowing blanks before it
// (the 6.7 manual drops some blanks, docs/kerio.md §6.4).
func lit(s, w string) (string, bool) {
	s = trimLeftBlanks(s)
	if strings.HasPrefix(s, w) {
		return s[len(w):], true
	}
	return s, false
}

// comma consumes a comma and the blanks around it.
func comma(s string) (string, bool) {
	s = trimLeftBlanks(s)
	if len(s) == 0 || s[0] != ',' {
		return s, false
	}
	return trimLeftBlanks(s[1:]), true
}

func trimLeftBlanks(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

func trimRightBlanks(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// trimDot drops one sentence-final full stop.
func trimDot(s string) string {
	if len(s) > 0 && s[len(s)-1] == '.' {
		return s[:len(s)-1]
	}
	return s
}

// seconds turns a count of seconds into an event.duration in nanoseconds.
func seconds(n int64) int64 { return n * int64(time.Second) }

// Fields the parsers set.
var (
	keyEmailFromAddress                 = ecs.NewKey("email.from.address")
	keyEmailLocalID                     = ecs.NewKey("email.local_id")
	keyEmailMessageID                   = ecs.NewKey("email.message_id")
	keyEmailSubject                     = ecs.NewKey("email.subject")
	keyEmailToAddress                   = ecs.NewKey("email.to.address")
	keyEventAction                      = ecs.NewKey("event.action")
	keyEventCategory                    = ecs.NewKey("event.category")
	keyEventDataset                     = ecs.NewKey("event.dataset")
	keyEventDuration                    = ecs.NewKey("event.duration")
	keyEventKind                        = ecs.NewKey("event.kind")
	keyEventModule                      = ecs.NewKey("event.module")
	keyEventOutcome                     = ecs.NewKey("event.outcome")
	keyEventReason                      = ecs.NewKey("event.reason")
	keyEventType                        = ecs.NewKey("event.type")
	keyHTTPRequestMethod                = ecs.NewKey("http.request.method")
	keyHTTPResponseBodyBytes            = ecs.NewKey("http.response.body.bytes")
	keyHTTPResponseStatusCode           = ecs.NewKey("http.response.status_code")
	keyHTTPVersion                      = ecs.NewKey("http.version")
	keyKerioAntihammeringBlockMinutes   = ecs.NewKey("kerio.antihammering.block_minutes")
	keyKerioAntivirusEngine             = ecs.NewKey("kerio.antivirus.engine")
	keyKerioAntivirusSignatureCount     = ecs.NewKey("kerio.antivirus.signature_count")
	keyKerioAuthFailure                 = ecs.NewKey("kerio.auth.failure")
	keyKerioAuthMethod                  = ecs.NewKey("kerio.auth.method")
	keyKerioConfigOperation             = ecs.NewKey("kerio.config.operation")
	keyKerioConfigRulePosition          = ecs.NewKey("kerio.config.rule_position")
	keyKerioConfigStatement             = ecs.NewKey("kerio.config.statement")
	keyKerioConfigTable                 = ecs.NewKey("kerio.config.table")
	keyKerioConnectionBytesRx           = ecs.NewKey("kerio.connection.bytes_rx")
	keyKerioConnectionBytesTx           = ecs.NewKey("kerio.connection.bytes_tx")
	keyKerioConnectionID                = ecs.NewKey("kerio.connection.id")
	keyKerioConnectionPacketsRx         = ecs.NewKey("kerio.connection.packets_rx")
	keyKerioConnectionPacketsTx         = ecs.NewKey("kerio.connection.packets_tx")
	keyKerioConnectionService           = ecs.NewKey("kerio.connection.service")
	keyKerioDialBytesReceived           = ecs.NewKey("kerio.dial.bytes_received")
	keyKerioDialBytesTransmitted        = ecs.NewKey("kerio.dial.bytes_transmitted")
	keyKerioDialLine                    = ecs.NewKey("kerio.dial.line")
	keyKerioDialTrigger                 = ecs.NewKey("kerio.dial.trigger")
	keyKerioFTPCommand                  = ecs.NewKey("kerio.ftp.command")
	keyKerioFTPResponse                 = ecs.NewKey("kerio.ftp.response")
	keyKerioFilterCommand               = ecs.NewKey("kerio.filter.command")
	keyKerioFilterRuleType              = ecs.NewKey("kerio.filter.rule_type")
	keyKerioHTTPHierarchy               = ecs.NewKey("kerio.http.hierarchy")
	keyKerioHTTPRequestCount            = ecs.NewKey("kerio.http.request_count")
	keyKerioHTTPSquidCode               = ecs.NewKey("kerio.http.squid_code")
	keyKerioHostIpv6                    = ecs.NewKey("kerio.host.ipv6")
	keyKerioHostMACVendor               = ecs.NewKey("kerio.host.mac_vendor")
	keyKerioIPSSeverity                 = ecs.NewKey("kerio.ips.severity")
	keyKerioMailExpandedFrom            = ecs.NewKey("kerio.mail.expanded_from")
	keyKerioMailFromName                = ecs.NewKey("kerio.mail.from_name")
	keyKerioMailProcessedCount          = ecs.NewKey("kerio.mail.processed_count")
	keyKerioMailReport                  = ecs.NewKey("kerio.mail.report")
	keyKerioMailResult                  = ecs.NewKey("kerio.mail.result")
	keyKerioMailService                 = ecs.NewKey("kerio.mail.service")
	keyKerioMailSize                    = ecs.NewKey("kerio.mail.size")
	keyKerioMailStatus                  = ecs.NewKey("kerio.mail.status")
	keyKerioOperationsDelivered         = ecs.NewKey("kerio.operations.delivered")
	keyKerioOperationsDestinationFolder = ecs.NewKey("kerio.operations.destination_folder")
	keyKerioOperationsFolder            = ecs.NewKey("kerio.operations.folder")
	keyKerioOperationsSize              = ecs.NewKey("kerio.operations.size")
	keyKerioOperationsType              = ecs.NewKey("kerio.operations.type")
	keyKerioPacketDirection             = ecs.NewKey("kerio.packet.direction")
	keyKerioPacketInterface             = ecs.NewKey("kerio.packet.interface")
	keyKerioPacketLength                = ecs.NewKey("kerio.packet.length")
	keyKerioPacketTcpFlags              = ecs.NewKey("kerio.packet.tcp_flags")
	keyKerioService                     = ecs.NewKey("kerio.service")
	keyKerioSpamFolder                  = ecs.NewKey("kerio.spam.folder")
	keyKerioSpamScore                   = ecs.NewKey("kerio.spam.score")
	keyKerioSpamThreshold               = ecs.NewKey("kerio.spam.threshold")
	keyKerioSpfResult                   = ecs.NewKey("kerio.spf.result")
	keyKerioTimestamp                   = ecs.NewKey("kerio.timestamp")
	keyLogLevel                         = ecs.NewKey("log.level")
	keyMessage                          = ecs.NewKey("message")
	keyNetworkBytes                     = ecs.NewKey("network.bytes")
	keyNetworkPackets                   = ecs.NewKey("network.packets")
	keyNetworkProtocol                  = ecs.NewKey("network.protocol")
	keyNetworkTransport                 = ecs.NewKey("network.transport")
	keyObserverProduct                  = ecs.NewKey("observer.product")
	keyObserverType                     = ecs.NewKey("observer.type")
	keyObserverVendor                   = ecs.NewKey("observer.vendor")
	keyRelatedIP                        = ecs.NewKey("related.ip")
	keyRelatedUser                      = ecs.NewKey("related.user")
	keyRuleCategory                     = ecs.NewKey("rule.category")
	keyRuleID                           = ecs.NewKey("rule.id")
	keyRuleName                         = ecs.NewKey("rule.name")
	keyTLSEstablished                   = ecs.NewKey("tls.established")
	keyTags                             = ecs.NewKey("tags")
	keyThreatSoftwareName               = ecs.NewKey("threat.software.name")
	keyThreatSoftwareType               = ecs.NewKey("threat.software.type")
	keyURLOriginal                      = ecs.NewKey("url.original")
	keyUserAgentOriginal                = ecs.NewKey("user_agent.original")
	keyUserDomain                       = ecs.NewKey("user.domain")
	keyUserName                         = ecs.NewKey("user.name")
)

// event.action values.
var (
	act2FALockout                     = ecs.NewConst("2fa-lockout")
	actAddressExpandedToZero          = ecs.NewConst("address-expanded-to-zero")
	actAdminSessionClosed             = ecs.NewConst("admin-session-closed")
	actAdminSessionOpened             = ecs.NewConst("admin-session-opened")
	actAntiSpoofingDropped            = ecs.NewConst("anti-spoofing-dropped")
	actAntihammeringConnectionBlocked = ecs.NewConst("antihammering-connection-blocked")
	actAntihammeringIPBlocked         = ecs.NewConst("antihammering-ip-blocked")
	actAntivirusDatabaseUpdated       = ecs.NewConst("antivirus-database-updated")
	actConfigDelete                   = ecs.NewConst("config-delete")
	actConfigInsert                   = ecs.NewConst("config-insert")
	actConfigOther                    = ecs.NewConst("config-other")
	actConfigUpdate                   = ecs.NewConst("config-update")
	actConnectionClosed               = ecs.NewConst("connection-closed")
	actDNSBLListed                    = ecs.NewConst("dnsbl-listed")
	actDNSBLRejected                  = ecs.NewConst("dnsbl-rejected")
	actDhcpLease                      = ecs.NewConst("dhcp-lease")
	actDirectoryHarvestDetected       = ecs.NewConst("directory-harvest-detected")
	actFTPBounceAttempt               = ecs.NewConst("ftp-bounce-attempt")
	actFTPMaliciousReply              = ecs.NewConst("ftp-malicious-reply")
	actFolderDeleted                  = ecs.NewConst("folder-deleted")
	actHTTPRequest                    = ecs.NewConst("http-request")
	actHeaderFilterRejected           = ecs.NewConst("header-filter-rejected")
	actHostRegistered                 = ecs.NewConst("host-registered")
	actHostRemoved                    = ecs.NewConst("host-removed")
	actIPSAlert                       = ecs.NewConst("ips-alert")
	actIPSPacketDropped               = ecs.NewConst("ips-packet-dropped")
	actItemDeleted                    = ecs.NewConst("item-deleted")
	actItemMoved                      = ecs.NewConst("item-moved")
	actItemOperation                  = ecs.NewConst("item-operation")
	actLineConnected                  = ecs.NewConst("line-connected")
	actLineDialing                    = ecs.NewConst("line-dialing")
	actLineDisconnected               = ecs.NewConst("line-disconnected")
	actLineHangup                     = ecs.NewConst("line-hangup")
	actLoginFailed                    = ecs.NewConst("login-failed")
	actLoginSucceeded                 = ecs.NewConst("login-succeeded")
	actMessageDiscarded               = ecs.NewConst("message-discarded")
	actMessageMarkedSpam              = ecs.NewConst("message-marked-spam")
	actMessageReceived                = ecs.NewConst("message-received")
	actMessageSent                    = ecs.NewConst("message-sent")
	actNoLocalMailbox                 = ecs.NewConst("no-local-mailbox")
	actNoReverseDNSRejected           = ecs.NewConst("no-reverse-dns-rejected")
	actPacketDenied                   = ecs.NewConst("packet-denied")
	actPacketDropped                  = ecs.NewConst("packet-dropped")
	actPacketPermitted                = ecs.NewConst("packet-permitted")
	actRelayRejected                  = ecs.NewConst("relay-rejected")
	actSMTPConnectionClosed           = ecs.NewConst("smtp-connection-closed")
	actSMTPQueueRun                   = ecs.NewConst("smtp-queue-run")
	actSMTPSpamAttackDetected         = ecs.NewConst("smtp-spam-attack-detected")
	actSenderDomainRejected           = ecs.NewConst("sender-domain-rejected")
	actSpamRejected                   = ecs.NewConst("spam-rejected")
	actSpfCheckFailed                 = ecs.NewConst("spf-check-failed")
	actTrafficRuleListed              = ecs.NewConst("traffic-rule-listed")
	actURLRuleAllowed                 = ecs.NewConst("url-rule-allowed")
	actURLRuleDenied                  = ecs.NewConst("url-rule-denied")
	actUnknownRecipient               = ecs.NewConst("unknown-recipient")
	actUserLoggedIn                   = ecs.NewConst("user-logged-in")
	actUserLoggedOut                  = ecs.NewConst("user-logged-out")
	actUserMarkedNotSpam              = ecs.NewConst("user-marked-not-spam")
	actUserMarkedSpam                 = ecs.NewConst("user-marked-spam")
	actVirusDetected                  = ecs.NewConst("virus-detected")
)

// Other constant values.
var (
	valConnectTime       = ecs.NewConst("connect_time")
	valConnectivity      = ecs.NewConst("connectivity")
	valDNSBL             = ecs.NewConst("dnsbl")
	valKerio             = ecs.NewConst("Kerio")
	valMalware           = ecs.NewConst("Malware")
	valManual            = ecs.NewConst("manual")
	valNoReverseDNSEntry = ecs.NewConst("no reverse DNS entry")
)
