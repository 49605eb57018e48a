package kerio

import (
	"strings"
	"time"
	"unsafe"

	"siemfwd/ecs"
)

// filter recognises the Kerio Control Filter log (docs/kerio.md §6.5.1): URL/FTP
// content-rule lines and packet lines.
func (c *ctx) filter(m string) bool {
	act, r := word(m)
	switch act {
	case "ALLOW", "DENY":
		if strings.HasPrefix(r, "URL '") || strings.HasPrefix(r, "FTP '") {
			return c.urlRule(act == "ALLOW", r)
		}
		if act == "DENY" {
			return c.packet(act, r)
		}
	case "PERMIT", "DROP":
		return c.packet(act, r)
	}
	return false
}

// urlRule: "URL 'RULE' IP [USER] HTTP METHOD URL".
func (c *ctx) urlRule(allow bool, r string) bool {
	rtype := r[:3]
	rule, r, ok := strings.Cut(r[5:], "' ")
	if !ok || rule == "" {
		return false
	}
	ip, r := word(r)
	// The tail is always "PROTO METHOD URL"; what is left between it and the IP is the user.
	r = trimRightBlanks(r)
	i := strings.LastIndexByte(r, ' ')
	if i <= 0 {
		return false
	}
	url, r := r[i+1:], r[:i]
	i = strings.LastIndexByte(r, ' ')
	if i <= 0 {
		return false
	}
	method, r := r[i+1:], r[:i]
	user := ""
	proto := r
	if i = strings.LastIndexByte(r, ' '); i >= 0 {
		user, proto = r[:i], r[i+1:]
	}
	protocol := protocolOf(proto)
	if ip == "" || url == "" || method == "" || protocol.IsEmpty() {
		return false
	}
	if allow {
		c.event(kEvent, catNetworkWeb, typAllowedAccess, success, actURLRuleAllowed)
	} else {
		c.event(kEvent, catNetworkWeb, typDeniedAccess, failure, actURLRuleDenied)
	}
	c.doc.SetString(keyRuleName, rule)
	c.doc.SetString(keyKerioFilterRuleType, rtype)
	c.addr(src, ip)
	c.user(user)
	c.doc.SetConst(keyNetworkProtocol, protocol)
	if p := protocol.Text(); p == "http" || p == "https" {
		c.doc.SetString(keyHTTPRequestMethod, method)
	} else {
		c.doc.SetString(keyKerioFilterCommand, method)
	}
	c.doc.SetString(keyURLOriginal, url)
	return true
}

// packet: "'RULE' packet to|from IFACE, DETAILS" (act is PERMIT, DENY or DROP).
func (c *ctx) packet(act, r string) bool {
	if len(r) < 2 || (r[0] != '\'' && r[0] != '"') {
		return false
	}
	q := r[0]
	end := strings.IndexByte(r[1:], q)
	if end < 0 {
		return false
	}
	rule, r := r[1:1+end], r[2+end:]
	r, ok := strings.CutPrefix(r, " packet ")
	if !ok {
		return false
	}
	dir, r := word(r)
	if dir != "to" && dir != "from" {
		return false
	}
	iface, details, ok := strings.Cut(r, ",")
	if !ok || iface == "" {
		return false
	}
	details = trimLeftBlanks(details)
	var pk packetInfo
	parsed := pk.parse(details)
	switch act {
	case "PERMIT":
		c.event(kEvent, catNetwork, typAllowedConn, success, actPacketPermitted)
	case "DENY":
		c.event(kEvent, catNetwork, typDeniedConn, failure, actPacketDenied)
	default:
		c.event(kEvent, catNetwork, typDeniedConn, failure, actPacketDropped)
	}
	c.str(keyRuleName, rule)
	c.doc.SetString(keyKerioPacketDirection, dir)
	c.doc.SetString(keyKerioPacketInterface, iface)
	if parsed {
		pk.emit(c)
	} else {
		// A custom log-packet template: keep what we know, and the details as message.
		c.message, c.hasMessage = details, true
	}
	return true
}

// packetInfo holds the fields of the default log-packet template:
// "proto:P, len:N, ip/port:SRC:SP > DST:DP[, flags: F, seq:… ack:…, win:…, tcplen:…]".
type packetInfo struct {
	proto, length, src, sport, dst, dport, flags string
}

func (pk *packetInfo) parse(d string) bool {
	r, ok := strings.CutPrefix(d, "proto:")
	if !ok {
		return false
	}
	if pk.proto, r, ok = strings.Cut(r, ", "); !ok {
		return false
	}
	if r, ok = strings.CutPrefix(r, "len:"); ok {
		if pk.length, r, ok = strings.Cut(r, ", "); !ok || !isDigits(pk.length) {
			return false
		}
	}
	if r, ok = strings.CutPrefix(r, "ip/port:"); !ok {
		return false
	}
	conn, rest, _ := strings.Cut(r, ",")
	if pk.src, pk.sport, pk.dst, pk.dport, ok = connPair(conn); !ok {
		return false
	}
	if rest == "" {
		return true
	}
	f, ok := strings.CutPrefix(trimLeftBlanks(rest), "flags:")
	if !ok {
		return false
	}
	f, _, _ = strings.Cut(f, ",")
	pk.flags = trimRightBlanks(trimLeftBlanks(f))
	return true
}

func (pk *packetInfo) emit(c *ctx) {
	c.str(keyNetworkTransport, transportOf(pk.proto))
	c.num(keyKerioPacketLength, pk.length)
	c.addr(src, pk.src)
	c.num(src.port, pk.sport)
	c.addr(dst, pk.dst)
	c.num(dst.port, pk.dport)
	c.str(keyKerioPacketTcpFlags, pk.flags)
}

// connPair reads "SRC:SP SEP DST:DP" with SEP one of "-", "->", ">".
func connPair(s string) (sh, sp, dh, dp string, ok bool) {
	a, r := word(trimRightBlanks(s))
	sep, b := word(r)
	if sep != ">" && sep != "->" && sep != "-" || b == "" || strings.IndexByte(b, ' ') >= 0 {
		return
	}
	sh, sp = splitHostPort(a)
	dh, dp = splitHostPort(b)
	return sh, sp, dh, dp, sh != "" && dh != ""
}

// http recognises the Kerio Control Http log (docs/kerio.md §6.5.2), Apache or Squid format.
func (c *ctx) http(m string) bool {
	if len(m) < 20 {
		return false
	}
	if isDigit(m[0]) {
		if i := strings.IndexByte(m, ' '); i > 0 && strings.IndexByte(m[:i], '.') > 0 && isSquidEpoch(m[:i]) {
			return c.squid(m)
		}
	}
	return c.apache(m)
}

// apache: `IP - USER [18/Apr/2013:15:07:17 +0200] "GET URL HTTP/1.1" 304 0 +4`.
func (c *ctx) apache(m string) bool {
	ip, r := word(m)
	r, ok := strings.CutPrefix(r, "- ")
	if !ok || !isIP(ip) {
		return false
	}
	user, r := word(r)
	if len(r) < 30 || r[0] != '[' {
		return false
	}
	end := strings.IndexByte(r, ']')
	if end < 0 {
		return false
	}
	t, ok := apacheTime(r[1:end])
	if !ok {
		return false
	}
	r, ok = strings.CutPrefix(r[end+1:], ` "`)
	if !ok {
		return false
	}
	req, r, ok := strings.Cut(r, `" `)
	if !ok {
		return false
	}
	method, req := word(req)
	url, ver := req, ""
	if i := strings.LastIndex(req, " HTTP/"); i >= 0 {
		url, ver = req[:i], req[i+len(" HTTP/"):]
	}
	status, r := word(r)
	size, r := word(r)
	code, ok := atoi(status)
	if !ok || method == "" || url == "" {
		return false
	}
	count := ""
	if r = trimRightBlanks(r); r != "" {
		if count, ok = strings.CutPrefix(r, "+"); !ok || !isDigits(count) {
			return false
		}
	}
	c.res.Zoned = t
	c.httpCommon(ip, user, method, url, code, size)
	c.str(keyHTTPVersion, ver)
	c.num(keyKerioHTTPRequestCount, count)
	return true
}

// httpCommon sets the fields both Http formats share.
func (c *ctx) httpCommon(ip, user, method, url string, code int64, size string) {
	outcome := success
	if code >= 400 {
		outcome = failure
	}
	c.event(kEvent, catWeb, typAccess, outcome, actHTTPRequest)
	c.addr(src, ip)
	c.user(user)
	c.doc.SetString(keyHTTPRequestMethod, method)
	c.doc.SetString(keyURLOriginal, url)
	c.doc.SetInt(keyHTTPResponseStatusCode, code)
	c.num(keyHTTPResponseBodyBytes, size)
}

// apacheTime parses "18/Apr/2013:15:07:17 +0200" to UTC (no zone value is
// allocated: the offset is applied to a UTC time).
func apacheTime(s string) (time.Time, bool) {
	y, mon, d, r, ok := datePart(s)
	if !ok || len(r) != 15 || r[0] != ':' || r[9] != ' ' {
		return time.Time{}, false
	}
	hh, mi, ss, ok := clock(r[1:9])
	off := r[10:]
	oh, ok1 := digits(off[1:3])
	om, ok2 := digits(off[3:5])
	if !ok || !ok1 || !ok2 || off[0] != '+' && off[0] != '-' {
		return time.Time{}, false
	}
	z := time.Duration(oh)*time.Hour + time.Duration(om)*time.Minute
	if off[0] == '+' {
		z = -z
	}
	return time.Date(y, mon, d, hh, mi, ss, 0, time.UTC).Add(z), true
}

// isSquidEpoch reports whether s is "seconds.millis".
func isSquidEpoch(s string) bool {
	a, b, ok := strings.Cut(s, ".")
	return ok && isDigits(a) && isDigits(b) && len(b) <= 9
}

// squid: "1058444114.733 0 IP TCP_MISS/304 0 GET URL USER DIRECT/SERVER".
func (c *ctx) squid(m string) bool {
	var f [10]string
	n := 0
	for r := m; r != "" && n < len(f); {
		r = trimLeftBlanks(r)
		if r == "" {
			break
		}
		f[n], r = word(r)
		n++
	}
	if n != 9 {
		return false
	}
	secS, fracS, _ := strings.Cut(f[0], ".")
	sec, _ := atoi(secS)
	frac, _ := atoi(fracS)
	for range 9 - len(fracS) {
		frac *= 10
	}
	dur, ok1 := atoi(f[1])
	sq, statusS, ok2 := strings.Cut(f[3], "/")
	code, ok3 := atoi(statusS)
	hier, server, ok4 := strings.Cut(f[8], "/")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return false
	}
	c.res.Zoned = time.Unix(sec, frac).UTC()
	c.httpCommon(f[2], f[7], f[5], f[6], code, f[4])
	c.doc.SetInt(keyEventDuration, dur*int64(time.Millisecond))
	c.doc.SetString(keyKerioHTTPSquidCode, sq)
	c.doc.SetString(keyKerioHTTPHierarchy, hier)
	c.addr(dst, server)
	return true
}

// controlSecurity recognises the Kerio Control Security log (docs/kerio.md §6.5.3).
func (c *ctx) controlSecurity(m string) bool {
	switch {
	case strings.HasPrefix(m, "IPS: "):
		return c.ips(m[len("IPS: "):])
	case strings.HasPrefix(m, "Anti-Spoofing: Packet "):
		return c.antiSpoofing(m[len("Anti-Spoofing: Packet "):])
	case strings.HasPrefix(m, "FTP: "):
		return c.ftp(m[len("FTP: "):])
	case strings.HasPrefix(m, "Authentication: "):
		return c.controlAuth(m[len("Authentication: "):])
	}
	return false
}

// ips: "Packet drop|Alert, severity: S, Rule ID: ID NAME[,] proto:P, ip/port:A:P(info) > B:P(info)".
func (c *ctx) ips(r string) bool {
	act, r, ok := strings.Cut(r, ", severity: ")
	if !ok || act != "Packet drop" && act != "Alert" {
		return false
	}
	sev, r, ok := strings.Cut(r, ", Rule ID: ")
	if !ok || !oneWord(sev) {
		return false
	}
	rid, r := word(r)
	i := strings.Index(r, "proto:")
	if i < 0 || rid == "" {
		return false
	}
	name := trimRightBlanks(r[:i])
	name = trimRightBlanks(strings.TrimSuffix(name, ","))
	r = r[i+len("proto:"):]
	proto, r, ok := strings.Cut(r, ", ip/port:")
	if !ok {
		return false
	}
	a, r := word(r)
	sep, b := word(r)
	if sep != ">" && sep != "->" && sep != "-" || b == "" {
		return false
	}
	a, ainfo := cutInfo(a)
	b, binfo := cutInfo(trimRightBlanks(b))
	sh, sp := splitHostPort(a)
	dh, dp := splitHostPort(b)
	if sh == "" || dh == "" {
		return false
	}
	if act == "Packet drop" {
		c.event(kAlert, catIDSNet, typDenied, failure, actIPSPacketDropped)
	} else {
		c.event(kAlert, catIDSNet, typInfo, noOutcome, actIPSAlert)
	}
	c.doc.SetString(keyKerioIPSSeverity, sev)
	c.doc.SetString(keyRuleID, rid)
	c.str(keyRuleName, name)
	c.str(keyNetworkTransport, transportOf(proto))
	c.addr(src, sh)
	c.num(src.port, sp)
	c.addr(dst, dh)
	c.num(dst.port, dp)
	c.info(src, ainfo)
	c.info(dst, binfo)
	return true
}

// cutInfo splits "1.2.3.4:80(name,user:x)" into the address and the bracket text.
func cutInfo(s string) (addr, info string) {
	i := strings.IndexByte(s, '(')
	if i < 0 || s[len(s)-1] != ')' {
		return s, ""
	}
	return s[:i], s[i+1 : len(s)-1]
}

// info files the IPS bracket suffix: a reverse-DNS name and/or "user:NAME".
func (c *ctx) info(e endpoint, s string) {
	for s != "" {
		var part string
		part, s, _ = strings.Cut(s, ",")
		if u, ok := strings.CutPrefix(part, "user:"); ok {
			c.user(u)
		} else if isHostname(part) {
			c.doc.SetString(e.domain, part)
		}
	}
}

// antiSpoofing: "from|to IFACE, DETAILS".
func (c *ctx) antiSpoofing(r string) bool {
	dir, r := word(r)
	iface, details, ok := strings.Cut(r, ",")
	var pk packetInfo
	if dir != "from" && dir != "to" || !ok || iface == "" || !pk.parse(trimLeftBlanks(details)) {
		return false
	}
	c.event(kAlert, catIDSNet, typDenied, failure, actAntiSpoofingDropped)
	c.doc.SetString(keyKerioPacketDirection, dir)
	c.doc.SetString(keyKerioPacketInterface, iface)
	pk.emit(c)
	return true
}

// ftp: "Bounce attack[:] attempt: client: …, server: …, command: …" and
// "Malicious server reply: client: …, server: …, response: …".
func (c *ctx) ftp(r string) bool {
	var action ecs.Const
	var key string
	var field ecs.Key
	switch {
	case strings.HasPrefix(r, "Bounce attack attempt: "):
		r, action, key, field = r[len("Bounce attack attempt: "):], actFTPBounceAttempt, ", command: ", keyKerioFTPCommand
	case strings.HasPrefix(r, "Bounce attack: attempt: "):
		r, action, key, field = r[len("Bounce attack: attempt: "):], actFTPBounceAttempt, ", command: ", keyKerioFTPCommand
	case strings.HasPrefix(r, "Malicious server reply: "):
		r, action, key, field = r[len("Malicious server reply: "):], actFTPMaliciousReply, ", response: ", keyKerioFTPResponse
	default:
		return false
	}
	r, ok := strings.CutPrefix(r, "client: ")
	if !ok {
		return false
	}
	client, r, ok := strings.Cut(r, ", server: ")
	if !ok {
		return false
	}
	server, val, ok := strings.Cut(r, key)
	if !ok || client == "" || server == "" {
		return false
	}
	c.event(kAlert, catIDSNet, typDenied, failure, action)
	c.hostPort(src, client)
	c.hostPort(dst, server)
	c.doc.SetConst(keyNetworkProtocol, protoFTP)
	c.str(field, trimRightBlanks(val))
	return true
}

// controlAuth: "SVC: Client: IP: REASON".
func (c *ctx) controlAuth(r string) bool {
	svc, r, ok := strings.Cut(r, ": Client: ")
	if !ok || svc == "" {
		return false
	}
	ip, reason, ok := strings.Cut(r, ": ")
	if !ok || !oneWord(ip) || reason == "" {
		return false
	}
	c.loginFailed(svc, "")
	c.addr(src, ip)
	c.doc.SetString(keyEventReason, trimRightBlanks(reason))
	return true
}

// connectionKeys are the bracketed keys of a Connection log line.
var connectionKeys = [...]string{"[Rule] ", "[Service] ", "[User] ", "[Connection] ", "[Duration] ", "[Bytes] ", "[Packets] "}

// nextKey finds the next " [Key] " of a Connection line in s.
func nextKey(s string) (i int, key string) {
	for off := 0; ; {
		j := strings.Index(s[off:], " [")
		if j < 0 {
			return len(s), ""
		}
		j += off
		for _, k := range connectionKeys {
			if strings.HasPrefix(s[j+1:], k) {
				return j, k
			}
		}
		off = j + 2
	}
}

// connection recognises the Kerio Control Connection log (docs/kerio.md §6.5.4).
func (c *ctx) connection(m string) bool {
	r, ok := strings.CutPrefix(m, "[ID] ")
	if !ok {
		return false
	}
	id, r := word(r)
	n, ok := atoi(id)
	if !ok || !strings.HasPrefix(r, "[Rule] ") {
		return false
	}
	var rule, svc, user, conn, dur, bytes, packets string
	key := "[Rule] "
	r = r[len(key):]
	for key != "" {
		i, next := nextKey(r)
		v := r[:i]
		switch key {
		case "[Rule] ":
			rule = v
		case "[Service] ":
			svc = v
		case "[User] ":
			user = v
		case "[Connection] ":
			conn = v
		case "[Duration] ":
			dur = v
		case "[Bytes] ":
			bytes = v
		case "[Packets] ":
			packets = v
		}
		if next == "" {
			break
		}
		r, key = r[i+1+len(next):], next
	}
	proto, pair := word(conn)
	sh, sp, dh, dp, ok := connPair(pair)
	if !ok {
		return false
	}
	c.event(kEvent, catNetwork, typConnEnd, noOutcome, actConnectionClosed)
	c.doc.SetInt(keyKerioConnectionID, n)
	c.str(keyRuleName, trimRightBlanks(rule))
	if svc = trimRightBlanks(svc); svc != "" {
		c.doc.SetString(keyKerioConnectionService, svc)
		c.protocol(svc)
	}
	c.user(trimRightBlanks(user))
	c.str(keyNetworkTransport, transportOf(proto))
	c.addr(src, sh)
	c.num(src.port, sp)
	c.addr(dst, dh)
	c.num(dst.port, dp)
	if d, ok := strings.CutSuffix(trimRightBlanks(dur), " sec"); ok {
		if s, ok := atoi(d); ok {
			c.doc.SetInt(keyEventDuration, seconds(s))
		}
	}
	c.triple(bytes, keyKerioConnectionBytesTx, keyKerioConnectionBytesRx, keyNetworkBytes)
	c.triple(packets, keyKerioConnectionPacketsTx, keyKerioConnectionPacketsRx, keyNetworkPackets)
	return true
}

// triple files "tx/rx/total".
func (c *ctx) triple(s string, tx, rx, total ecs.Key) {
	a, r, ok1 := strings.Cut(trimRightBlanks(s), "/")
	b, t, ok2 := strings.Cut(r, "/")
	if !ok1 || !ok2 {
		return
	}
	c.num(tx, a)
	c.num(rx, b)
	c.num(total, t)
}

// dial recognises the Kerio Control Dial log (docs/kerio.md §6.5.5).
func (c *ctx) dial(m string) bool {
	r, ok := strings.CutPrefix(m, `Line "`)
	if !ok {
		return false
	}
	line, r, ok := strings.Cut(r, `" `)
	if !ok || line == "" {
		return false
	}
	r = trimDot(trimRightBlanks(r))
	switch {
	case r == "connected":
		c.event(kEvent, catNetwork, typConnStart, success, actLineConnected)
	case r == "dialing due to configured connect time":
		c.event(kEvent, catNetwork, typInfo, noOutcome, actLineDialing)
		c.doc.SetConst(keyKerioDialTrigger, valConnectTime)
	case r == "dialing, required by internet connectivity":
		c.event(kEvent, catNetwork, typInfo, noOutcome, actLineDialing)
		c.doc.SetConst(keyKerioDialTrigger, valConnectivity)
	case strings.HasPrefix(r, "dialing manually from IP "):
		ip, u, ok := strings.Cut(r[len("dialing manually from IP "):], ", user ")
		if !ok || !oneWord(ip) {
			return false
		}
		c.event(kEvent, catNetwork, typInfo, noOutcome, actLineDialing)
		c.doc.SetConst(keyKerioDialTrigger, valManual)
		c.addr(src, ip)
		c.user(u)
	case strings.HasPrefix(r, "hanging up, manually from IP "):
		ip, u, ok := strings.Cut(r[len("hanging up, manually from IP "):], ", user ")
		if !ok || !oneWord(ip) {
			return false
		}
		c.event(kEvent, catNetwork, typInfo, noOutcome, actLineHangup)
		c.doc.SetConst(keyKerioDialTrigger, valManual)
		c.addr(src, ip)
		c.user(u)
	case strings.HasPrefix(r, "disconnected, connection time "):
		return c.disconnected(line, r[len("disconnected, connection time "):])
	default:
		return false
	}
	c.doc.SetString(keyKerioDialLine, line)
	return true
}

// disconnected: "H:MM:SS, N bytes received, M bytes transmitted".
func (c *ctx) disconnected(line, r string) bool {
	t, r, ok := strings.Cut(r, ", ")
	h, ms, ok1 := strings.Cut(t, ":")
	hh, ok2 := atoi(h)
	if !ok || !ok1 || !ok2 || len(ms) != 5 || ms[2] != ':' {
		return false
	}
	mm, okm := digits(ms[:2])
	ss, oks := digits(ms[3:])
	ok3 := okm && oks && mm < 60 && ss < 60
	rx, r, ok4 := strings.Cut(r, " bytes received, ")
	tx, ok5 := strings.CutSuffix(r, " bytes transmitted")
	nrx, ok6 := atoi(rx)
	ntx, ok7 := atoi(tx)
	if !ok3 || !ok4 || !ok5 || !ok6 || !ok7 {
		return false
	}
	c.event(kEvent, catNetwork, typConnEnd, noOutcome, actLineDisconnected)
	c.doc.SetString(keyKerioDialLine, line)
	c.doc.SetInt(keyEventDuration, int64(time.Duration(hh)*time.Hour+time.Duration(mm)*time.Minute+time.Duration(ss)*time.Second))
	c.doc.SetInt(keyKerioDialBytesReceived, nrx)
	c.doc.SetInt(keyKerioDialBytesTransmitted, ntx)
	c.doc.SetInt(keyNetworkBytes, nrx+ntx)
	return true
}

// host recognises the Kerio Control Host log (docs/kerio.md §6.5.6).
func (c *ctx) host(m string) bool {
	r, ok := strings.CutPrefix(m, "[IPv4] ")
	if !ok {
		return false
	}
	ip, r := word(r)
	var ip6, mac, vendor, hostname, user string
	for strings.HasPrefix(r, "[") {
		switch {
		case strings.HasPrefix(r, "[IPv6] "):
			ip6, r = word(r[len("[IPv6] "):])
		case strings.HasPrefix(r, "[MAC] "):
			mac, r = word(r[len("[MAC] "):])
			if strings.HasPrefix(r, "(") {
				end := strings.IndexByte(r, ')')
				if end < 0 {
					return false
				}
				vendor, r = r[1:end], trimLeftBlanks(r[end+1:])
			}
		case strings.HasPrefix(r, "[Hostname] "):
			hostname, r = word(r[len("[Hostname] "):])
		case strings.HasPrefix(r, "[User] "):
			rest := r[len("[User] "):]
			i := strings.Index(rest, " - ")
			if i < 0 {
				return false
			}
			user, r = rest[:i], rest[i+1:]
		default:
			return false
		}
	}
	what, ok := strings.CutPrefix(r, "- ")
	if !ok || ip == "" {
		return false
	}
	what = trimRightBlanks(what)
	switch what {
	case "Host registered":
		c.event(kEvent, catHost, typStart, noOutcome, actHostRegistered)
	case "Host removed":
		c.event(kEvent, catHost, typEnd, noOutcome, actHostRemoved)
	case "User logged in":
		c.event(kEvent, catAuth, typStart, success, actUserLoggedIn)
	case "IP address leased from DHCP":
		c.event(kEvent, catNetwork, typInfo, noOutcome, actDhcpLease)
	default:
		u, ok := strings.CutPrefix(what, "User ")
		if u, ok2 := strings.CutSuffix(u, " logged out"); ok && ok2 && u != "" {
			c.event(kEvent, catAuth, typEnd, success, actUserLoggedOut)
			user = u
			break
		}
		return false
	}
	c.addr(src, ip)
	c.str(keyKerioHostIpv6, ip6)
	if ip6 != "" && isIP(ip6) {
		c.doc.AppendUnique(keyRelatedIP, ip6)
	}
	if mac != "" {
		c.doc.SetString(src.mac, c.upperMAC(mac))
	}
	c.str(keyKerioHostMACVendor, vendor)
	c.str(src.domain, hostname)
	c.user(user)
	return true
}

// upperMAC writes a MAC address the ECS way: upper-case hex, hyphens. An
// address not in that form already is rewritten into the Parser's out
// buffer, so no line allocates.
func (c *ctx) upperMAC(s string) string {
	i := 0
	for i < len(s) && !(s[i] >= 'a' && s[i] <= 'f' || s[i] == ':') {
		i++
	}
	if i == len(s) {
		return s
	}
	start := len(*c.out)
	b := append(*c.out, s...)
	for j := start + i; j < len(b); j++ {
		switch {
		case b[j] >= 'a' && b[j] <= 'f':
			b[j] -= 'a' - 'A'
		case b[j] == ':':
			b[j] = '-'
		}
	}
	*c.out = b
	return unsafe.String(&b[start], len(s))
}
