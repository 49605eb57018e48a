package rules

import (
	"fmt"
	"time"
)

// line is one syslog message as a Kerio server sends it: RFC 5424 with the
// log name as APP-NAME and the message without Kerio's bracketed time.
type line struct {
	product string // kerio_connect or kerio_control: which siemfwd source receives it
	at      time.Time
	host    string
	log     string
	msg     string
}

// wire is the RFC 5424 message; the header time becomes @timestamp.
func (l line) wire() string {
	pri := 22 // mail.info, as Kerio Connect sends
	if l.product == kerioControl {
		pri = 134 // local0.info
	}
	return fmt.Sprintf("<%d>1 %s %s %s - - - %s", pri, l.at.UTC().Format(time.RFC3339), l.host, l.log, l.msg)
}

const (
	kerioConnect = "kerio_connect"
	kerioControl = "kerio_control"
	// baselineHost sends the benign traffic every rule must stay silent on.
	baselineHost = "baseline.contoso.test"
)

// scenario is one rule's attack, sent from a syslog host of its own so the
// harness can evaluate the rule on exactly these events.
type scenario struct {
	rule  string
	lines []line
	// want are the groups the rule must alert on (correlation rules: the
	// group-by values; query rules: nil, and hits counts matching events).
	want [][]string
	hits int
}

// gen builds lines for one host, spaced a few seconds apart, ending before now.
type gen struct {
	now   time.Time
	host  string
	lines []line
}

func (g *gen) add(product, log string, ago time.Duration, format string, args ...any) {
	g.lines = append(g.lines, line{product: product, at: g.now.Add(-ago), host: g.host, log: log, msg: fmt.Sprintf(format, args...)})
}

func (g *gen) connect(log string, ago time.Duration, format string, args ...any) {
	g.add(kerioConnect, log, ago, format, args...)
}

func (g *gen) control(log string, ago time.Duration, format string, args ...any) {
	g.add(kerioControl, log, ago, format, args...)
}

// spread returns the i-th of n times within the last d before now.
func spread(i, n int, d time.Duration) time.Duration {
	return d - time.Duration(i)*d/time.Duration(n)
}

// attacks returns every alerting rule's scenario, evaluated at now.
func attacks(now time.Time) []scenario {
	var out []scenario
	add := func(rule string, want [][]string, hits int, build func(g *gen)) {
		g := &gen{now: now, host: rule + ".attack.test"}
		build(g)
		out = append(out, scenario{rule: rule, lines: g.lines, want: want, hits: hits})
	}

	add("kerio_connect_brute_force_account", [][]string{{"45.95.147.12", "ceo@contoso.example"}}, 0, func(g *gen) {
		for i := range 12 {
			if i%2 == 0 {
				g.connect("security", spread(i, 12, 6*time.Minute), "HTTP/WebMail: Invalid password for user ceo@contoso.example. Attempt from IP address 45.95.147.12.")
			} else {
				g.connect("security", spread(i, 12, 6*time.Minute), "Failed IMAP login from 45.95.147.12, user ceo@contoso.example")
			}
		}
	})
	add("kerio_connect_password_spraying", [][]string{{"185.220.101.5"}}, 0, func(g *gen) {
		for i := range 15 {
			g.connect("security", spread(i, 15, 5*time.Minute), "Failed POP3 login from 185.220.101.5, user user%02d@contoso.example not found.", i)
		}
	})
	add("kerio_connect_login_failures_one_address", [][]string{{"212.92.127.112"}}, 0, func(g *gen) {
		for i := range 25 {
			g.connect("security", spread(i, 25, 8*time.Minute), "Failed SMTP login from 212.92.127.112 with SASL method LOGIN.")
		}
	})
	add("kerio_connect_login_after_failures", [][]string{{"198.51.100.201"}}, 0, func(g *gen) {
		for i := range 6 {
			g.connect("security", spread(i, 6, 4*time.Minute), "Failed SMTP login from 198.51.100.201 with SASL method PLAIN.")
		}
		g.connect("audit", 30*time.Second, "SMTP: User bob@contoso.example authenticated from IP address 198.51.100.201")
	})
	add("kerio_connect_directory_harvest_detected", nil, 1, func(g *gen) {
		g.connect("security", 2*time.Minute, "Directory harvest attack from 213.7.0.87 detected")
	})
	add("kerio_connect_unknown_recipients_one_address", [][]string{{"200.90.149.178"}}, 0, func(g *gen) {
		for i := range 15 {
			g.connect("security", spread(i, 15, 6*time.Minute), "Attempt to deliver to unknown recipient <guess%02d@contoso.example>, from <bekytnabvnvyx@aapug.org>, IP address 200.90.149.178", i)
		}
	})
	add("kerio_connect_relay_attempt", nil, 2, func(g *gen) {
		g.connect("security", 3*time.Minute, "Relay attempt from IP address 61.216.46.197, mail from <wgiwknovry@hotmail.example> to <fodder@falls.example> rejected")
		g.connect("security", 2*time.Minute, "Relay attempt from IP address 61.216.46.197,mail from <wgiwknovry@hotmail.example> to <more@falls.example> rejected")
	})
	add("kerio_connect_antihammering_block", nil, 1, func(g *gen) {
		for i := range 6 {
			g.connect("security", spread(i, 6, 3*time.Minute), "Failed SMTP login from 203.0.113.66 with SASL method LOGIN.")
		}
		g.connect("security", 40*time.Second, "SMTP: AntiHammering - IP address 203.0.113.66 will be blocked for 5 minutes, too many failed logins from this IP address.")
		g.connect("security", 20*time.Second, "SMTP: AntiHammering: connection from IP address 203.0.113.66 is blocked")
	})
	add("kerio_connect_malware_in_mail", nil, 1, func(g *gen) {
		g.connect("security", time.Minute, "Found virus in mail from <billing@invoices-online.example> to <accounts@contoso.example>: Trojan.PDF.Phishing.Gen")
	})
	add("kerio_connect_spam_flood_sender", [][]string{{"promo@deals.example"}}, 0, func(g *gen) {
		for i := range 12 {
			g.connect("security", spread(i, 12, 7*time.Minute), "Message from <promo@deals.example> to <staff%02d@contoso.example> rejected by spam filter: score 12.30, threshold 6.50", i)
		}
	})
	add("kerio_connect_spam_flood_address", [][]string{{"115.147.104.13"}}, 0, func(g *gen) {
		for i := range 12 {
			g.connect("security", spread(i, 12, 7*time.Minute), "SMTP Spam attack detected from 115.147.104.13:%d, client sent data before SMTP greeting", 40000+i)
		}
	})
	add("kerio_connect_dnsbl_hits_one_address", [][]string{{"112.140.49.130"}}, 0, func(g *gen) {
		for i := range 6 {
			g.connect("security", spread(i, 6, 40*time.Minute), "IP address 112.140.49.130 found in DNS blacklist SpamHaus SBL-XBL, mail from <winner%d@lottery.example> to <cfo@contoso.example> rejected", i)
		}
	})
	add("kerio_connect_webadmin_login_untrusted", nil, 1, func(g *gen) {
		g.connect("audit", 3*time.Minute, "HTTP/WebAdmin: User admin@contoso.example authenticated from IP address 192.168.1.5; Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0")
		g.connect("audit", time.Minute, "HTTP/WebAdmin: User admin@contoso.example authenticated from IP address 203.0.113.66; Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0")
	})
	add("kerio_connect_admin_session_untrusted", nil, 1, func(g *gen) {
		g.connect("config", 3*time.Minute, "admin@contoso.example - session opened for host 127.0.0.1")
		g.connect("config", time.Minute, "admin@contoso.example - session opened for host 203.0.113.66")
	})
	add("kerio_connect_config_change", nil, 2, func(g *gen) {
		g.connect("config", 3*time.Minute, "admin@contoso.example - session opened for host 192.168.1.5")
		g.connect("config", 2*time.Minute, "admin@contoso.example - insert User set Name='support2', Domain='contoso.example', Account_enabled='1', Auth_type='0', Password=xxxxxx, Rights='1', ForwardMode='0'")
		g.connect("config", 90*time.Second, "admin@contoso.example - Update ConnectClientOptions {customLoginLogoEnabled=\"True\"}")
		g.connect("config", time.Minute, "admin@contoso.example - session closed for host 192.168.1.5")
	})
	add("kerio_connect_login_new_country", [][]string{{"alice@contoso.example", "AU"}}, 0, func(g *gen) {
		// alice's history is in Great Britain; today she logs in from Australia.
		g.connect("audit", 12*24*time.Hour, "IMAP: User alice@contoso.example authenticated from IP address 81.2.69.10")
		g.connect("audit", 3*24*time.Hour, "HTTP/WebMail: User alice@contoso.example authenticated from IP address 81.2.69.11")
		g.connect("audit", 4*time.Minute, "IMAP: User alice@contoso.example authenticated from IP address 81.2.69.10")
		g.connect("audit", 2*time.Minute, "HTTP/WebMail: User alice@contoso.example authenticated from IP address 1.128.0.10")
	})
	add("kerio_control_port_scan", [][]string{{"45.141.84.3"}}, 0, func(g *gen) {
		for i := range 25 {
			g.control("filter", spread(i, 25, 2*time.Minute), "DENY 'Block from Internet' packet from Internet, proto:TCP, len:52, ip/port:45.141.84.3:%d - 203.0.113.2:%d, flags: SYN, seq:2281733121 ack:0, win:64240, tcplen:0", 49822+i, 20+i*7)
		}
	})
	add("kerio_control_blocked_connections", [][]string{{"10.10.20.99"}}, 0, func(g *gen) {
		for i := range 120 {
			g.control("filter", spread(i, 120, 4*time.Minute), "DROP 'Block SMB outbound' packet to WAN, proto:TCP, len:52, ip/port:10.10.20.99:%d - 198.51.100.%d:445, flags: SYN, seq:1 ack:0, win:64240, tcplen:0", 50000+i, 1+i%200)
		}
	})
	add("kerio_control_vpn_login_failures", [][]string{{"198.51.100.50"}}, 0, func(g *gen) {
		for i := range 6 {
			g.control("security", spread(i, 6, 5*time.Minute), "Authentication: VPN Client: Client: 198.51.100.50: wrong password")
		}
	})
	add("kerio_control_firewall_rule_change", nil, 3, func(g *gen) {
		g.control("config", 3*time.Minute, "netadmin - session opened for host 10.10.20.2")
		g.control("config", 2*time.Minute, "netadmin - New traffic policy set:")
		g.control("config", 2*time.Minute, "netadmin - 1: name=(Allow RDP) src=(any) dst=(Firewall) service=(\"RDP\") snat=(any) dnat=(any) action=(Permit) time_range=(always) inspector=(default)")
		g.control("config", 2*time.Minute, "netadmin - default: name=(Default rule) src=(any) dst=(any) service=(any) snat=(any) dnat=(any) action=(Drop) time_range=(always) inspector=(default)")
		g.control("config", time.Minute, "netadmin - update TrafficRules set Enabled='0', Description='Block RDP from Internet'")
	})
	add("kerio_control_ips_alert", nil, 2, func(g *gen) {
		g.control("security", 2*time.Minute, "IPS: Packet drop, severity: High, Rule ID: 1:2010575 ET TROJAN ASProtect/ASPack Packed Binary, proto:TCP, ip/port:95.211.98.71:80 > 192.168.48.131:49960")
		g.control("security", time.Minute, "IPS: Alert, severity: Medium, Rule ID: 1:2013028 ET POLICY curl User-Agent Outbound, proto:TCP, ip/port:10.10.20.15:51515 > 203.0.113.80:80")
	})
	return out
}

// baseline is a working day of benign traffic: normal logins (some from
// outside, some after a typo), normal mail flow with the odd bounced typo,
// background spam and blacklist hits, routine administration and firewall
// noise. Every alerting rule must stay silent on it.
func baseline(now time.Time) []line {
	g := &gen{now: now, host: baselineHost}
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	for i, u := range users {
		svc := []string{"IMAP", "SMTP", "POP3", "HTTP/WebMail", "HTTP/KOFF"}[i%5]
		g.connect("audit", spread(i, len(users), 9*time.Minute), "%s: User %s@contoso.example authenticated from IP address 192.168.1.%d", svc, u, 20+i)
	}
	// Logins from home (public addresses with a country) that match history.
	for _, ago := range []time.Duration{20 * 24 * time.Hour, 6 * 24 * time.Hour, 5 * time.Minute} {
		g.connect("audit", ago, "IMAP: User frank@contoso.example authenticated from IP address 81.2.69.40")
		g.connect("audit", ago-time.Second, "HTTP/WebMail: User grace@contoso.example authenticated from IP address 1.128.7.7")
	}
	// Typos: a wrong password or a misspelt login, then success.
	g.connect("security", 8*time.Minute, "HTTP/WebMail: Invalid password for user bob@contoso.example. Attempt from IP address 192.168.1.21.")
	g.connect("security", 8*time.Minute-20*time.Second, "HTTP/WebMail: Invalid password for user bob@contoso.example. Attempt from IP address 192.168.1.21.")
	g.connect("audit", 8*time.Minute-40*time.Second, "HTTP/WebMail: User bob@contoso.example authenticated from IP address 192.168.1.21")
	g.connect("security", 7*time.Minute, "SMTP: User carol@contso.example doesn't exist. Attempt from IP address 192.168.1.22.")
	g.connect("security", 6*time.Minute, "Failed IMAP login from 192.168.1.23, authentication method PLAIN")
	// Three users behind one NAT address with an old password on their phones.
	for i, u := range []string{"heidi", "ivan", "judy"} {
		for k := range 2 {
			g.connect("security", time.Duration(9-i*2-k)*time.Minute, "Failed IMAP login from 203.0.113.10, user %s@contoso.example", u)
		}
	}
	// Administration from the office.
	g.connect("audit", 7*time.Minute, "HTTP/WebAdmin: User admin@contoso.example authenticated from IP address 192.168.1.5; Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0")
	g.connect("config", 7*time.Minute, "admin@contoso.example - session opened for host 192.168.1.5")
	g.connect("config", 6*time.Minute, "Admin - Store backup started")
	g.connect("config", 5*time.Minute, "admin@contoso.example - session closed for host 192.168.1.5")
	// Mail flow.
	for i := range 20 {
		ago := spread(i, 20, 9*time.Minute)
		qid := fmt.Sprintf("67ac9f03-%08x", 0x100+i)
		g.connect("mail", ago, "Recv: Queue-ID: %s, Service: SMTP, From: <news%d@partner.example>, To: <%s@contoso.example>, Size: %d, Sender-Host: 198.51.100.25, SSL: yes, Subject: Weekly report %d, Msg-Id: <%d@partner.example>", qid, i, users[i%len(users)], 2000+i*37, i, 9000+i)
		g.connect("mail", ago-time.Second, "Sent: Queue-ID: %s, Recipient: <%s@contoso.example>, Result: delivered, Status: 2.0.0 , Remote-Host: 127.0.0.1, Msg-Id: <%d@partner.example>", qid, users[i%len(users)], 9000+i)
	}
	g.connect("security", 4*time.Minute, "Attempt to deliver to unknown recipient <alcie@contoso.example>, from <news3@partner.example>, IP address 198.51.100.25")
	g.connect("security", 3*time.Minute, "Attempt to deliver to unknown recipient <bob.smith@contoso.example>, from <news4@partner.example>, IP address 198.51.100.25")
	// Background spam and blacklist noise from many places.
	for i := range 3 {
		g.connect("security", time.Duration(8-2*i)*time.Minute, "Message from <offer%d@bulk%d.example> to <sales@contoso.example> rejected by spam filter: score 9.74, threshold 5.00", i, i)
	}
	g.connect("security", 5*time.Minute, "IP address 203.0.113.200 found in DNS blacklist SpamCop, mail from <list@shared-host.example> to <info@contoso.example>")
	g.connect("security", 4*time.Minute, "SPF check failed: The IP address '198.51.100.77' is not in permitted set for sender 'billing@vendor.example' (FAIL)")
	g.connect("security", 3*time.Minute, "SMTP Spam attack detected from 203.0.113.99, client closed connection before SMTP greeting")
	g.connect("security", 2*time.Minute, "Kerio Antivirus database has been successfully updated. Kerio Antivirus engine version/Signature count: (AVCORE v2.2 Linux/x86_64 11.0.1.19 (March 15, 2021)/11294591) is now active.")

	// Kerio Control: allowed traffic, some blocked NetBIOS chatter, a VPN
	// typo, routine administration that does not touch traffic rules.
	for i := range 15 {
		g.control("filter", spread(i, 15, 4*time.Minute), "PERMIT 'Local traffic' packet to LAN, proto:TCP, len:47, ip/port:10.10.20.%d:%d - 192.168.1.11:443, flags: ACK PSH, seq:1099972190 ack:3795090926, win:64036, tcplen:7", 10+i, 41000+i)
	}
	for i := range 15 {
		g.control("filter", spread(i, 15, 4*time.Minute), "DROP 'Block NetBIOS' packet from WAN, proto:UDP, len:78, ip/port:10.10.20.15:137 - 10.10.20.255:%d", 137+i%3)
	}
	g.control("security", 6*time.Minute, "Authentication: VPN Client: Client: 198.51.100.60: wrong password")
	g.control("host", 5*time.Minute, "[IPv4] 10.10.20.18 [MAC] 00-50-56-aa-bb-cc (VMware) [User] jdoe@contoso.example - User logged in")
	g.control("config", 4*time.Minute, "netadmin - session opened for host 10.10.20.2")
	g.control("config", 3*time.Minute, "netadmin - insert StaticRoutes set Enabled='1', Description='VPN', Net='192.168.76.0', Mask='255.255.255.0', Gateway='192.168.1.16', Interface='LAN'")
	g.control("config", 2*time.Minute, "netadmin - session closed for host 10.10.20.2")
	return g.lines
}
