package kerio

import "strings"

// connectSecurity recognises the Kerio Connect Security log (docs/kerio.md §6.4.1):
// the 22 variants, dispatched on their first bytes. Like every layout
// function it sets fields only when it returns true.
func (c *ctx) connectSecurity(m string) bool {
	if len(m) < 8 {
		return false
	}
	switch m[0] {
	case 'F':
		if r, ok := strings.CutPrefix(m, "Found virus in mail from"); ok {
			return c.virus(r)
		}
		if r, ok := strings.CutPrefix(m, "Failed "); ok {
			return c.failedLogin(r)
		}
	case 'M':
		if r, ok := strings.CutPrefix(m, "Message from IP address "); ok {
			return c.senderDomain(r)
		}
		if r, ok := strings.CutPrefix(m, "Message from"); ok {
			return c.messageRejected(r)
		}
	case 'R':
		if r, ok := strings.CutPrefix(m, "Relay attempt from IP address "); ok {
			return c.relay(r)
		}
	case 'D':
		if r, ok := strings.CutPrefix(m, "Directory harvest attack from "); ok {
			ip, ok := strings.CutSuffix(r, " detected")
			if !ok || ip == "" || strings.IndexByte(ip, ' ') >= 0 {
				return false
			}
			c.event(kAlert, catIDSNet, typDenied, failure, actDirectoryHarvestDetected)
			c.addr(src, ip)
			return true
		}
	case 'I':
		if r, ok := strings.CutPrefix(m, "IP address "); ok {
			return c.dnsbl(r)
		}
	case 'A':
		if r, ok := strings.CutPrefix(m, "Attempt to deliver to unknown recipient"); ok {
			return c.unknownRecipient(r)
		}
		if r, ok := strings.CutPrefix(m, "Administration login into "); ok {
			return c.adminLogin(r)
		}
	case 'S':
		if r, ok := strings.CutPrefix(m, "SMTP Spam attack detected from "); ok {
			return c.spamAttack(r)
		}
		if r, ok := strings.CutPrefix(m, "SPF check failed: The IP address '"); ok {
			return c.spf(r)
		}
	case 'C':
		if r, ok := strings.CutPrefix(m, "Client with IP address "); ok {
			ip, ok := strings.CutSuffix(r, " has no reverse DNS entry, connection rejected before SMTP greeting")
			if !ok || ip == "" || strings.IndexByte(ip, ' ') >= 0 {
				return false
			}
			c.event(kEvent, catIDSNet, typDenied, failure, actNoReverseDNSRejected)
			c.addr(src, ip)
			c.doc.SetConst(keyEventReason, valNoReverseDNSEntry)
			c.doc.SetConst(keyNetworkProtocol, protoSMTP)
			return true
		}
	case 'K':
		if r, ok := strings.CutPrefix(m, "Kerio Antivirus database has been successfully updated."); ok {
			return c.avUpdate(r)
		}
	}
	return c.serviceSecurity(m)
}

// virus: "Found virus in mail from <a> to <b>: NAME".
func (c *ctx) virus(r string) bool {
	from, r, ok := angle(r)
	if !ok {
		return false
	}
	if r, ok = lit(r, "to"); !ok {
		return false
	}
	to, r, ok := angle(r)
	if !ok {
		return false
	}
	if r, ok = lit(r, ":"); !ok {
		return false
	}
	name := trimLeftBlanks(r)
	if name == "" {
		return false
	}
	c.event(kAlert, catEmailMal, typInfo, noOutcome, actVirusDetected)
	c.from(from)
	c.to(to)
	c.doc.SetString(keyThreatSoftwareName, name)
	c.doc.SetConst(keyThreatSoftwareType, valMalware)
	return true
}

// messageRejected: "Message from <a> to <b> rejected by spam filter: score S, threshold T"
// and "… rejected by header filter: REASON".
func (c *ctx) messageRejected(r string) bool {
	from, r, ok := angle(r)
	if !ok {
		return false
	}
	if r, ok = lit(r, "to"); !ok {
		return false
	}
	to, r, ok := angle(r)
	if !ok {
		return false
	}
	if hr, ok := lit(r, "rejected by header filter:"); ok {
		c.event(kEvent, catEmailNet, typInfoDenied, failure, actHeaderFilterRejected)
		c.from(from)
		c.to(to)
		c.str(keyEventReason, trimLeftBlanks(hr))
		return true
	}
	if r, ok = lit(r, "rejected by spam filter:"); !ok {
		return false
	}
	if r, ok = lit(r, "score"); !ok {
		return false
	}
	r, _ = lit(r, ":")
	scoreS, r, _ := strings.Cut(trimLeftBlanks(r), ",")
	score, ok1 := decimal(trimRightBlanks(scoreS))
	if r, ok = lit(r, "threshold"); !ok || !ok1 {
		return false
	}
	r, _ = lit(r, ":")
	thr, ok2 := decimal(trimRightBlanks(trimLeftBlanks(r)))
	if !ok2 {
		return false
	}
	c.event(kEvent, catEmailNet, typInfoDenied, failure, actSpamRejected)
	c.from(from)
	c.to(to)
	c.doc.SetFloat(keyKerioSpamScore, score)
	c.doc.SetFloat(keyKerioSpamThreshold, thr)
	return true
}

// failedLogin: "Failed SVC login from HOST with SASL method M." and
// "Failed SVC login from HOST, REASON" (docs/kerio.md §6.4.2).
func (c *ctx) failedLogin(r string) bool {
	svc, r, ok := strings.Cut(r, " login from ")
	if !ok || svc == "" || strings.IndexByte(svc, ' ') >= 0 {
		return false
	}
	i := strings.IndexAny(r, " ,")
	if i <= 0 {
		return false
	}
	host, r := r[:i], r[i:]
	if m, ok := strings.CutPrefix(r, " with SASL method "); ok {
		m = trimDot(trimRightBlanks(m))
		if m == "" || strings.IndexByte(m, ' ') >= 0 {
			return false
		}
		c.loginFailed(svc, "sasl_failed")
		c.addr(src, host)
		c.doc.SetString(keyKerioAuthMethod, m)
		return true
	}
	reason, ok := comma(r)
	if !ok || reason == "" {
		return false
	}
	code, method, user := authReason(reason)
	c.loginFailed(svc, code)
	c.addr(src, host)
	c.str(keyKerioAuthMethod, method)
	if user != "" {
		c.user(user)
	} else {
		c.doc.SetString(keyEventReason, reason)
	}
	return true
}

// authReason classifies the reason of a failed login (docs/kerio.md §6.4.2 table).
func authReason(s string) (failure, method, user string) {
	if s == "missing parameter in AUTHENTICATE header" {
		return "missing_auth_parameter", "", ""
	}
	if m, ok := strings.CutPrefix(s, "authentication method "); ok {
		if x, ok := strings.CutSuffix(m, " is disabled"); ok && oneWord(x) {
			return "auth_method_disabled", x, ""
		}
		if x, ok := strings.CutSuffix(m, " is invalid or unknown"); ok && oneWord(x) {
			return "auth_method_unknown", x, ""
		}
		if oneWord(m) {
			return "auth_failed", m, ""
		}
		return "", "", ""
	}
	if m, ok := strings.CutPrefix(s, "error during authentication with method "); ok && oneWord(m) {
		return "auth_error", m, ""
	}
	if m, ok := strings.CutPrefix(s, "authentication with method "); ok {
		if x, ok := strings.CutSuffix(m, " cancelled by user"); ok && oneWord(x) {
			return "auth_cancelled", x, ""
		}
	}
	if u, ok := strings.CutPrefix(s, "user "); ok {
		u = trimDot(u)
		if x, ok := strings.CutSuffix(u, " not found"); ok && oneWord(x) {
			return "user_not_found", "", x
		}
		if oneWord(u) {
			return "auth_failed", "", u
		}
	}
	return "", "", ""
}

func oneWord(s string) bool { return s != "" && strings.IndexByte(s, ' ') < 0 }

// loginFailed sets what every failed login shares.
func (c *ctx) loginFailed(svc, code string) {
	c.event(kEvent, catAuth, typStart, failure, actLoginFailed)
	c.service(svc)
	c.str(keyKerioAuthFailure, code)
}

// senderDomain: "Message from IP address IP, sender <a> rejected: REASON".
func (c *ctx) senderDomain(r string) bool {
	ip, r, ok := strings.Cut(r, ",")
	if !ok || ip == "" || strings.IndexByte(ip, ' ') >= 0 {
		return false
	}
	if r, ok = lit(r, "sender"); !ok {
		return false
	}
	from, r, ok := angle(r)
	if !ok {
		return false
	}
	if r, ok = lit(r, "rejected:"); !ok {
		return false
	}
	c.event(kEvent, catEmailNet, typInfoDenied, failure, actSenderDomainRejected)
	c.addr(src, ip)
	c.from(from)
	c.str(keyEventReason, trimLeftBlanks(r))
	return true
}

// relay: "Relay attempt from IP address IP, mail from <a> to <b> rejected".
func (c *ctx) relay(r string) bool {
	ip, r, ok := strings.Cut(r, ",")
	if !ok || ip == "" || strings.IndexByte(ip, ' ') >= 0 {
		return false
	}
	if r, ok = lit(r, "mail from"); !ok {
		return false
	}
	from, to, r, ok := fromTo(r)
	if !ok || trimRightBlanks(trimLeftBlanks(r)) != "rejected" {
		return false
	}
	c.event(kEvent, catEmailNet, typInfoDenied, failure, actRelayRejected)
	c.addr(src, ip)
	c.from(from)
	c.to(to)
	return true
}

// fromTo reads "<a> to <b>".
func fromTo(r string) (from, to, rest string, ok bool) {
	if from, r, ok = angle(r); !ok {
		return
	}
	if r, ok = lit(r, "to"); !ok {
		return
	}
	to, rest, ok = angle(r)
	return
}

// dnsbl: "IP address IP found in DNS blacklist NAME, mail from <a> to <b>[ rejected]".
func (c *ctx) dnsbl(r string) bool {
	ip, r, ok := strings.Cut(r, " found in DNS blacklist ")
	if !ok || ip == "" || strings.IndexByte(ip, ' ') >= 0 {
		return false
	}
	i := strings.Index(r, "mail from")
	if i <= 0 {
		return false
	}
	bl := trimRightBlanks(r[:i])
	bl, ok = strings.CutSuffix(bl, ",")
	bl = trimRightBlanks(bl)
	if !ok || bl == "" {
		return false
	}
	from, to, rest, ok := fromTo(r[i+len("mail from"):])
	if !ok {
		return false
	}
	switch trimRightBlanks(trimLeftBlanks(rest)) {
	case "":
		c.event(kEvent, catEmail, typInfo, unknown, actDNSBLListed)
	case "rejected":
		c.event(kEvent, catEmailNet, typInfoDenied, failure, actDNSBLRejected)
	default:
		return false
	}
	c.addr(src, ip)
	c.doc.SetString(keyRuleName, bl)
	c.doc.SetConst(keyRuleCategory, valDNSBL)
	c.from(from)
	c.to(to)
	return true
}

// unknownRecipient: "Attempt to deliver to unknown recipient <b>, from <a>, IP address IP".
func (c *ctx) unknownRecipient(r string) bool {
	to, r, ok := angle(r)
	if !ok {
		return false
	}
	if r, ok = comma(r); !ok {
		return false
	}
	if r, ok = lit(r, "from"); !ok {
		return false
	}
	from, r, ok := angle(r)
	if !ok {
		return false
	}
	if r, ok = comma(r); !ok {
		return false
	}
	if r, ok = lit(r, "IP address "); !ok {
		return false
	}
	ip := trimDot(trimRightBlanks(trimLeftBlanks(r)))
	if ip == "" || strings.IndexByte(ip, ' ') >= 0 {
		return false
	}
	c.event(kEvent, catEmailNet, typInfoDenied, failure, actUnknownRecipient)
	c.addr(src, ip)
	c.from(from)
	c.to(to)
	return true
}

// adminLogin: "Administration login into SVC from IP failed: REASON".
func (c *ctx) adminLogin(r string) bool {
	svc, r, ok := strings.Cut(r, " from ")
	if !ok || svc == "" {
		return false
	}
	ip, reason, ok := strings.Cut(r, " failed:")
	if !ok || ip == "" || strings.IndexByte(ip, ' ') >= 0 {
		return false
	}
	reason = trimLeftBlanks(reason)
	code := ""
	if strings.EqualFold(reason, "IP address not allowed") {
		code = "ip_not_allowed"
	}
	c.loginFailed(svc, code)
	c.addr(src, ip)
	c.str(keyEventReason, reason)
	return true
}

// spamAttack: "SMTP Spam attack detected from HOST[:PORT], REASON".
func (c *ctx) spamAttack(r string) bool {
	hp, reason, ok := strings.Cut(r, ",")
	if !ok || hp == "" || strings.IndexByte(hp, ' ') >= 0 {
		return false
	}
	c.event(kAlert, catIDSNet, typDenied, failure, actSMTPSpamAttackDetected)
	c.hostPort(src, hp)
	c.str(keyEventReason, trimLeftBlanks(reason))
	c.doc.SetConst(keyNetworkProtocol, protoSMTP)
	return true
}

// spf: "SPF check failed: The IP address 'IP' is not in permitted set for sender 'a' (RESULT)".
func (c *ctx) spf(r string) bool {
	ip, r, ok := strings.Cut(r, "' is not in permitted set for sender '")
	if !ok || ip == "" {
		return false
	}
	i := strings.LastIndex(r, "' (")
	if i < 0 || !strings.HasSuffix(r, ")") {
		return false
	}
	from, res := r[:i], r[i+3:len(r)-1]
	c.event(kEvent, catEmail, typInfo, failure, actSpfCheckFailed)
	c.addr(src, ip)
	c.from(from)
	c.str(keyKerioSpfResult, res)
	return true
}

// avUpdate: "… Kerio Antivirus engine version/Signature count: (ENGINE/COUNT) is now active."
func (c *ctx) avUpdate(r string) bool {
	r, ok := lit(r, "Kerio Antivirus engine version/Signature count:")
	if !ok {
		return false
	}
	r, ok = lit(r, "(")
	if !ok {
		return false
	}
	r = trimDot(trimRightBlanks(r))
	r, ok = strings.CutSuffix(r, ") is now active")
	i := strings.LastIndexByte(r, '/')
	if !ok || i <= 0 {
		return false
	}
	n, ok := atoi(r[i+1:])
	if !ok {
		return false
	}
	c.event(kEvent, catConfig, typChange, success, actAntivirusDatabaseUpdated)
	c.doc.SetString(keyKerioAntivirusEngine, r[:i])
	c.doc.SetInt(keyKerioAntivirusSignatureCount, n)
	return true
}

// serviceSecurity handles the "SVC: …" variants: unknown user, bad password,
// access policy, AntiHammering.
func (c *ctx) serviceSecurity(m string) bool {
	svc, r, ok := serviceColon(m)
	if !ok {
		return false
	}
	if rest, ok := strings.CutPrefix(r, "User "); ok {
		if u, tail, ok := strings.Cut(rest, " doesn't exist. Attempt from IP address "); ok {
			return c.attempt(svc, u, tail, "user_not_found", "")
		}
		if u, tail, ok := strings.Cut(rest, " - login denied: Access Policy rule '"); ok {
			rule, tail, ok := strings.Cut(tail, "' used. Attempt from IP address ")
			if !ok {
				return false
			}
			return c.attempt(svc, u, tail, "access_policy_denied", rule)
		}
		return false
	}
	if rest, ok := strings.CutPrefix(r, "Invalid password for user "); ok {
		if u, tail, ok := strings.Cut(rest, ". Attempt from IP address "); ok {
			return c.attempt(svc, u, tail, "invalid_password", "")
		}
		return false
	}
	if rest, ok := strings.CutPrefix(r, "AntiHammering"); ok {
		return c.antiHammering(svc, rest)
	}
	return false
}

// serviceColon splits "SVC: rest" where SVC is a short service token.
func serviceColon(m string) (svc, rest string, ok bool) {
	i := strings.IndexByte(m, ':')
	if i <= 0 || i > 40 || i+2 > len(m) || m[i+1] != ' ' {
		return "", "", false
	}
	svc = m[:i]
	if strings.IndexByte(svc, '<') >= 0 || svc[0] == ' ' {
		return "", "", false
	}
	return svc, m[i+2:], true
}

// attempt finishes "… Attempt from IP address IP." lines.
func (c *ctx) attempt(svc, u, tail, code, rule string) bool {
	ip := trimDot(trimRightBlanks(tail))
	if u == "" || ip == "" || strings.IndexByte(ip, ' ') >= 0 {
		return false
	}
	c.loginFailed(svc, code)
	c.addr(src, ip)
	c.user(u)
	c.str(keyRuleName, rule)
	return true
}

// antiHammering: " - IP address X will be blocked for N minutes, REASON." and
// ": connection from IP address X is blocked".
func (c *ctx) antiHammering(svc, r string) bool {
	if rest, ok := strings.CutPrefix(r, ": connection from IP address "); ok {
		ip, ok := strings.CutSuffix(trimRightBlanks(rest), " is blocked")
		if !ok || ip == "" || strings.IndexByte(ip, ' ') >= 0 {
			return false
		}
		c.event(kEvent, catIDSNet, typDenied, failure, actAntihammeringConnectionBlocked)
		c.service(svc)
		c.addr(src, ip)
		return true
	}
	rest, ok := strings.CutPrefix(r, " - IP address ")
	if !ok {
		return false
	}
	ip, rest, ok := strings.Cut(rest, " will be blocked for ")
	if !ok || ip == "" || strings.IndexByte(ip, ' ') >= 0 {
		return false
	}
	n, rest := word(rest)
	mins, ok := atoi(n)
	if !ok {
		return false
	}
	rest, ok = strings.CutPrefix(rest, "minute")
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, "s")
	reason := ""
	if rest != "" {
		if rest, ok = comma(rest); !ok {
			return false
		}
		reason = trimDot(trimRightBlanks(rest))
	}
	c.event(kAlert, catIDSNet, typDenied, failure, actAntihammeringIPBlocked)
	c.service(svc)
	c.addr(src, ip)
	c.doc.SetInt(keyKerioAntihammeringBlockMinutes, mins)
	c.str(keyEventReason, reason)
	return true
}

// audit recognises the Kerio Connect Audit log (docs/kerio.md §6.4.3):
// "SVC: User U authenticated from IP address IP[,][; USER-AGENT]".
func (c *ctx) audit(m string) bool {
	svc, r, ok := serviceColon(m)
	if !ok {
		return false
	}
	r, ok = strings.CutPrefix(r, "User ")
	if !ok {
		return false
	}
	u, r, ok := strings.Cut(r, " authenticated ")
	if !ok || u == "" || strings.IndexByte(u, ' ') >= 0 {
		return false
	}
	r, ok = lit(r, "from IP address ")
	if !ok {
		return false
	}
	ip, r := ipRun(trimLeftBlanks(r))
	if ip == "" {
		return false
	}
	r = strings.TrimPrefix(r, ",")
	r = strings.TrimPrefix(r, ".")
	ua := ""
	if r != "" {
		rest, ok := lit(r, ";")
		if !ok {
			return false
		}
		ua = trimRightBlanks(trimLeftBlanks(rest))
	}
	c.event(kEvent, catAuth, typStart, success, actLoginSucceeded)
	c.service(svc)
	c.user(u)
	c.addr(src, ip)
	c.str(keyUserAgentOriginal, ua)
	return true
}
