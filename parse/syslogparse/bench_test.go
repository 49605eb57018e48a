package syslogparse

import (
	"testing"
	"time"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"
)

// Kerio-style lines of about 250-300 bytes, as they arrive over syslog.
const (
	bench5424 = "<22>1 2026-04-01T14:59:32+07:00 mail01.contoso.example mail - - - Recv: Queue-ID: 65f2c1a0-00000010, Service: SMTP, From: <a@partner.example>, To: <b@contoso.example>, Size: 5120, Sender-Host: 198.51.100.80, SSL: yes, Subject: Status report for the week, Msg-Id: <s1@partner.example>"
	// Kerio Connect Security with structured data (corpus line sys-009).
	bench5424SD = `<20>1 2026-03-14T09:33:00Z mail01.contoso.example security 2345 SEC [meta sequenceId="42"][origin ip="192.0.2.1"] IP address 203.0.113.61 found in DNS blacklist SpamCop, mail from <bulk@mailer.example> to <b@contoso.example> rejected`
	bench3164   = "<134>Mar 19 09:31:00 fw01 connection: [19/Mar/2025 09:31:00] [ID] 88001 [Rule] NAT [Service] DNS [Connection] UDP 10.10.20.16:53000 > 9.9.9.9:53 [Duration] 0 sec [Bytes] 60/120/180 [Packets] 1/1/2 [Interface] LAN > WAN [User] kpark [Host] ws-016.contoso.example"
)

func BenchmarkParse(b *testing.B) {
	recv := time.Date(2026, 3, 19, 9, 31, 1, 0, time.UTC)
	for _, bc := range []struct {
		name string
		raw  string
	}{{"RFC5424", bench5424}, {"RFC5424SD", bench5424SD}, {"RFC3164", bench3164}} {
		raw := []byte(bc.raw)
		// The bare go-syslog machine, for reference: its result still has to
		// be turned into a Header.
		b.Run(bc.name+"/gosyslog", func(b *testing.B) {
			var m syslog.Machine = rfc3164.NewMachine(rfc3164.WithBestEffort())
			if bc.name != "RFC3164" {
				m = rfc5424.NewMachine(rfc5424.WithBestEffort())
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				_, _ = m.Parse(raw)
			}
		})
		b.Run(bc.name, func(b *testing.B) {
			p := New()
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				_ = p.Parse(raw, recv, time.UTC)
			}
		})
		// The same input through the lenient reader only: what the fast
		// path saves.
		b.Run(bc.name+"/lenient", func(b *testing.B) {
			p := New()
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				_ = p.lenient(raw, recv, time.UTC)
			}
		})
	}
}
