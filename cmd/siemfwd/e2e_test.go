package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"siemfwd/internal/poll"
)

// kafka-go's transport closes a connection whose request was in flight when
// it was told to close idle connections a moment later, on its own goroutine.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/segmentio/kafka-go.(*conn).run"))
}

// lockedBuffer is the stdout of an in-process siemfwd.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// logWatcher reads siemfwd's JSON logs and reports the addresses it listens on.
type logWatcher struct {
	w      *io.PipeWriter
	addrs  chan [2]string      // source (or "admin"), address
	totals chan map[string]any // the exit line
	// processing is the mode the start-up log names: "raw" or "ecs".
	processing chan string
	done       chan struct{}
}

func watchLogs(t *testing.T) *logWatcher {
	r, w := io.Pipe()
	lw := &logWatcher{w: w, addrs: make(chan [2]string, 16), totals: make(chan map[string]any, 1),
		processing: make(chan string, 1), done: make(chan struct{})}
	go func() {
		defer close(lw.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if os.Getenv("SIEMFWD_TEST_LOGS") != "" {
				os.Stderr.Write(append(sc.Bytes(), '\n')) // siemfwd's own logs, for debugging a test
			}
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			switch rec["msg"] {
			case "listening":
				lw.addrs <- [2]string{fmt.Sprint(rec["source"]), fmt.Sprint(rec["address"])}
			case "admin listening":
				lw.addrs <- [2]string{"admin", fmt.Sprint(rec["address"])}
			case "totals":
				lw.totals <- rec
			case "event processing":
				lw.processing <- fmt.Sprint(rec["mode"])
			}
		}
	}()
	return lw
}

// siemfwd is an in-process instance started with a config file.
type siemfwd struct {
	stdout *lockedBuffer
	logs   *logWatcher
	addr   map[string]string
	cancel context.CancelFunc
	exit   chan int
}

func startSiemfwd(t *testing.T, yaml string, listeners int) *siemfwd {
	t.Helper()
	return startSiemfwdTo(t, yaml, listeners, nil)
}

// startSiemfwdTo is startSiemfwd writing stdout to w (nil: s.stdout).
func startSiemfwdTo(t *testing.T, yaml string, listeners int, w io.Writer) *siemfwd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "siemfwd.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o644))
	lw := watchLogs(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &siemfwd{stdout: &lockedBuffer{}, logs: lw, addr: map[string]string{}, cancel: cancel, exit: make(chan int, 1)}
	if w == nil {
		w = s.stdout
	}
	go func() {
		s.exit <- run(ctx, []string{"run", "-c", path}, noEnv, w, lw.w)
		lw.w.Close()
	}()
	for range listeners {
		select {
		case a := <-lw.addrs:
			s.addr[a[0]] = a[1]
		case code := <-s.exit:
			t.Fatalf("siemfwd exited with %d before listening", code)
		case <-time.After(30 * time.Second):
			t.Fatal("siemfwd did not start listening")
		}
	}
	t.Cleanup(func() {
		s.stop(t)
		<-lw.done
	})
	return s
}

func (s *siemfwd) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code, ok := <-s.exit:
		if ok {
			close(s.exit)
		}
		return code
	case <-time.After(60 * time.Second):
		t.Fatal("siemfwd did not stop")
		return -1
	}
}

// processingMode is what the workers do with each event, as the start-up
// log says: "raw" (the syslog header only) or "ecs" (full processing).
func (s *siemfwd) processingMode(t *testing.T) string {
	t.Helper()
	select {
	case mode := <-s.logs.processing:
		return mode
	case <-time.After(30 * time.Second):
		t.Fatal("siemfwd did not log its event processing mode")
		return ""
	}
}

// waitLines polls stdout until it has n lines (polling for a condition, with a
// generous overall deadline; no fixed sleeps).
func (s *siemfwd) waitLines(t *testing.T, n int) []string {
	t.Helper()
	poll.Until(t, 30*time.Second, fmt.Sprintf("%d events on stdout", n), func() bool { return len(s.stdout.lines()) >= n })
	return s.stdout.lines()
}

// metric reads one sample from the admin /metrics endpoint.
func (s *siemfwd) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	fam, ok := s.scrape(t)[name]
	if !ok {
		return 0
	}
	total := 0.0
next:
	for _, m := range fam.Metric {
		for _, lp := range m.Label {
			if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
				continue next
			}
		}
		if m.Counter != nil {
			total += m.Counter.GetValue()
		} else if m.Gauge != nil {
			total += m.Gauge.GetValue()
		}
	}
	return total
}

const e2eConfig = `
log: {level: info, format: json}
admin: {address: "127.0.0.1:0"}
sources:
  udp: {type: syslog, protocol: udp, address: "127.0.0.1:0"}
  tcp: {type: syslog, protocol: tcp, address: "127.0.0.1:0", max_connections: 16, product: kerio_connect}
sinks:
  console: {type: stdout%s}
`

// messages returns n RFC 5424 Kerio Security lines, numbered in the MSGID.
func messages(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("<20>1 2026-03-14T09:15:02.481Z mail01.contoso.example security - %s-%d - "+
			"Failed IMAP login from 203.0.113.%d, authentication method PLAIN", prefix, i, i%250+1)
	}
	return out
}

func msgIDs(t *testing.T, lines []string) []string {
	t.Helper()
	var ids []string
	for _, l := range lines {
		var doc struct {
			Log struct {
				Syslog struct {
					MsgID string `json:"msgid"`
				} `json:"syslog"`
			} `json:"log"`
			Event struct {
				Action string `json:"action"`
			} `json:"event"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &doc), l)
		require.Equal(t, "login-failed", doc.Event.Action, l)
		ids = append(ids, doc.Log.Syslog.MsgID)
	}
	sort.Strings(ids)
	return ids
}

func sortedIDs(msgs ...[]string) []string {
	var ids []string
	for _, m := range msgs {
		for _, l := range m {
			ids = append(ids, strings.Fields(l)[5])
		}
	}
	sort.Strings(ids)
	return ids
}

func TestEndToEndUDPAndTCPFramingsReachStdoutAsECS(t *testing.T) {
	s := startSiemfwd(t, fmt.Sprintf(e2eConfig, ""), 3)

	udp := messages("udp", 20)
	conn, err := net.Dial("udp", s.addr["udp"])
	require.NoError(t, err)
	for _, m := range udp {
		_, err := conn.Write([]byte(m))
		require.NoError(t, err)
	}
	conn.Close()

	// Several concurrent TCP connections, LF and octet-counted framing.
	lf := [][]string{messages("lf0", 50), messages("lf1", 50)}
	octet := [][]string{messages("oc0", 50), messages("oc1", 50)}
	var wg sync.WaitGroup
	send := func(msgs []string, frame func(string) string) {
		defer wg.Done()
		c, err := net.Dial("tcp", s.addr["tcp"])
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		w := bufio.NewWriter(c)
		for _, m := range msgs {
			w.WriteString(frame(m))
		}
		if err := w.Flush(); err != nil {
			t.Error(err)
		}
	}
	for _, msgs := range lf {
		wg.Add(1)
		go send(msgs, func(m string) string { return m + "\n" })
	}
	for _, msgs := range octet {
		wg.Add(1)
		go send(msgs, func(m string) string { return fmt.Sprintf("%d %s", len(m), m) })
	}
	wg.Wait()

	lines := s.waitLines(t, 220)
	require.Equal(t, sortedIDs(udp, lf[0], lf[1], octet[0], octet[1]), msgIDs(t, lines))
	require.Equal(t, 0, s.stop(t))
}

func TestShutdownFlushesInFlightEvents(t *testing.T) {
	// The sink lingers for an hour, so only the shutdown drain can write the events.
	s := startSiemfwd(t, fmt.Sprintf(e2eConfig, ", linger: 1h, max_events: 100000"), 3)
	msgs := messages("tcp", 500)
	c, err := net.Dial("tcp", s.addr["tcp"])
	require.NoError(t, err)
	for _, m := range msgs {
		_, err := c.Write([]byte(m + "\n"))
		require.NoError(t, err)
	}
	poll.Until(t, 30*time.Second, "500 events received", func() bool {
		return s.metric(t, "siemfwd_source_received_events_total", map[string]string{"source": "tcp"}) == 500
	})
	require.Empty(t, s.stdout.lines(), "nothing is written before the drain")
	c.Close()
	require.Equal(t, 0, s.stop(t))
	require.Equal(t, sortedIDs(msgs), msgIDs(t, s.stdout.lines()))
}

func TestSendersLedgerBalancesForManySenders(t *testing.T) {
	s := startSiemfwd(t, fmt.Sprintf(e2eConfig, ""), 3)
	const perSender = 40
	senders := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
	var wg sync.WaitGroup
	for _, ip := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
			c, err := d.Dial("tcp", s.addr["tcp"])
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for _, m := range messages(ip, perSender) {
				if _, err := c.Write([]byte(m + "\n")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	type sender struct {
		Address   string            `json:"address"`
		Received  uint64            `json:"received"`
		Delivered uint64            `json:"delivered"`
		Dropped   map[string]uint64 `json:"dropped"`
		InFlight  uint64            `json:"in_flight"`
	}
	read := func() map[string]sender {
		resp, err := http.Get("http://" + s.addr["admin"] + "/senders")
		require.NoError(t, err)
		defer resp.Body.Close()
		var body struct {
			Senders []sender `json:"senders"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		out := map[string]sender{}
		for _, snd := range body.Senders {
			var dropped uint64
			for _, n := range snd.Dropped {
				dropped += n
			}
			// The ledger balances at every read, also while events are in flight.
			require.Equal(t, snd.Received, snd.Delivered+dropped+snd.InFlight, "sender %s", snd.Address)
			out[snd.Address] = snd
		}
		return out
	}
	poll.Until(t, 60*time.Second, "every sender's events delivered", func() bool {
		got := read()
		for _, ip := range senders {
			if got[ip].Delivered != perSender {
				return false
			}
		}
		return true
	})
	wg.Wait()
	got := read()
	for _, ip := range senders {
		require.Equal(t, uint64(perSender), got[ip].Received, ip)
		require.Equal(t, uint64(perSender), got[ip].Delivered, ip)
	}
}
