package mailflow

import (
	"fmt"
	"testing"

	"siemfwd/ecs"
	"siemfwd/internal/cputime"
)

// BenchmarkObserve measures Observe per event: a non-mail event (the common
// case), and a mail flow of one Recv and two Sent lines per message with
// about 1000 messages open (reported per line). The documents are parsed
// beforehand: only Observe is timed.
func BenchmarkObserve(b *testing.B) {
	b.Run("not-mail", func(b *testing.B) {
		tr := New(testConfig())
		var doc ecs.Document
		doc.SetString(ecs.NewKey("event.module"), "kerio_connect")
		doc.SetString(ecs.NewKey("event.kind"), "event")
		doc.SetString(ecs.NewKey("event.action"), "login-failed")
		doc.SetString(ecs.NewKey("source.ip"), "198.51.100.1")
		cputime.Bench(b, func(int) { tr.Observe(&doc, t0) })
	})

	b.Run("mail-flow", func(b *testing.B) {
		const ring = 4096
		f := newFeeder(b, testConfig())
		docs := make([]ecs.Document, 0, 3*ring)
		for i := range ring {
			q := fmt.Sprintf("67ac9f03-%08x", i)
			for _, line := range []string{
				recv(0, q, "sender@example.net", 20480, "203.0.113.25", "alice@contoso.example", "bob@contoso.example"),
				sent(1, q, "alice@contoso.example", "delivered", "2.0.0", "127.0.0.1"),
				sent(2, q, "bob@contoso.example", "relayed", "2.0.0", "192.0.2.25"),
			} {
				var d ecs.Document
				for _, fl := range f.parse(line).Fields() {
					copyField(&d, fl)
				}
				docs = append(docs, d)
			}
		}
		tr := New(testConfig())
		const lag = 1000 // messages open: the Sent lines of message m-lag follow the Recv of m
		cputime.Bench(b, func(n int) {
			m, phase := n/3, n%3
			if phase != 0 {
				m -= lag
				if m < 0 {
					m, phase = n/3, 0 // warming up: nothing to deliver yet
				}
			}
			tr.Observe(&docs[3*(m%ring)+phase], t0)
		})
		b.ReportMetric(float64(tr.Stats().Open), "open")
	})

	b.Run("parallel-mail-flow", func(b *testing.B) {
		f := newFeeder(b, testConfig())
		tr := New(testConfig())
		recvDoc, sentDoc := copyDoc(f.parse(recv(0, "Q", "s@example.net", 1, "203.0.113.25", "a@c.example"))), copyDoc(f.parse(sent(1, "Q", "a@c.example", "delivered", "2.0.0", "127.0.0.1")))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				tr.Observe(recvDoc, t0)
				tr.Observe(sentDoc, t0)
			}
		})
	})
}

func copyDoc(d *ecs.Document) *ecs.Document {
	var c ecs.Document
	for _, f := range d.Fields() {
		copyField(&c, f)
	}
	return &c
}

func copyField(d *ecs.Document, f ecs.Field) {
	switch f.Kind {
	case ecs.KindString:
		d.SetString(f.Key, f.Str)
	case ecs.KindInt:
		d.SetInt(f.Key, f.Int)
	case ecs.KindTime:
		d.SetTime(f.Key, f.Time)
	case ecs.KindStrings:
		d.SetStrings(f.Key, f.Strs...)
	case ecs.KindBool:
		d.SetBool(f.Key, f.Bool)
	}
}
