package conservation

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
)

// The real senders of issue 14: rsyslog forwards what logger hands it over
// UDP, TCP (octet-counted and LF), TLS (the gtls driver, and ossl when the
// package is installed) and RELP (plain and TLS), and every message arrives
// with its host, app, process id, message, severity and facility; then
// siemfwd restarts while rsyslog sends over RELP, and no RELP message is
// missing afterwards. scripts/testenv/senders installs rsyslog.

// senderHost is the HOSTNAME rsyslog puts in what it forwards.
const senderHost = "sender.test"

// rsyslogOutputs are the siemfwd sources the test runs, each fed by one
// rsyslog action.
var rsyslogOutputs = []struct {
	source, protocol string
	tls              bool
	action           string // the rsyslog action: %d is the port, PKI the certificates' directory
	driver           string // the rsyslog module it needs, "" when always there
}{
	{"udp", "udp", false, `action(type="omfwd" target="127.0.0.1" port="%d" protocol="udp" template="RSYSLOG_SyslogProtocol23Format")`, ""},
	{"tcp_octet", "tcp", false, `action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")`, ""},
	{"tcp_lf", "tcp", false, `action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" template="RSYSLOG_ForwardFormat")`, ""},
	{"tls_gtls", "tls", true, `action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="anon" template="RSYSLOG_SyslogProtocol23Format")`, "lmnsd_gtls"},
	{"tls_ossl", "tls", true, `action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="anon" template="RSYSLOG_SyslogProtocol23Format")`, "lmnsd_ossl"},
	{"relp", "relp", false, `action(type="omrelp" target="127.0.0.1" port="%d" template="RSYSLOG_SyslogProtocol23Format")`, "omrelp"},
	// librelp falls back to anonymous Diffie-Hellman (which Go's TLS does
	// not offer) unless it has a certificate of its own.
	{"relp_tls", "relp", true, `action(type="omrelp" target="127.0.0.1" port="%d" tls="on" tls.authMode="certvalid" tls.caCert="PKI/ca.crt" tls.myCert="PKI/client.crt" tls.myPrivKey="PKI/client.key" template="RSYSLOG_SyslogProtocol23Format")`, "omrelp"},
}

func TestRealSendersRsyslog(t *testing.T) {
	rsyslogd, modules := findRsyslog(t)
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	out, err := exec.Command(filepath.Join("..", "..", "scripts", "mkca.sh"), pki).CombinedOutput()
	require.NoError(t, err, "%s", out)

	ports := map[string]int{}
	var siemfwdConf, rsyslogActions strings.Builder
	siemfwdConf.WriteString("log: {level: info, format: json}\npipeline: {shutdown_timeout: 20s}\nsources:\n")
	var sources []string
	for _, o := range rsyslogOutputs {
		if o.driver != "" && !modules[o.driver] {
			t.Logf("rsyslog has no %s module: %s not tested", o.driver, o.source)
			continue
		}
		sources = append(sources, o.source)
		ports[o.source] = freePort(t, o.protocol == "udp")
		fmt.Fprintf(&siemfwdConf, "  %s:\n    type: syslog\n    protocol: %s\n    address: 127.0.0.1:%d\n", o.source, o.protocol, ports[o.source])
		if o.tls {
			fmt.Fprintf(&siemfwdConf, "    tls: {cert_file: %s, key_file: %s}\n", filepath.Join(pki, "server.crt"), filepath.Join(pki, "server.key"))
		}
		// Each action has its own queue and retries for ever, so that one
		// that waits (RELP while siemfwd restarts) holds up no other.
		action := strings.TrimSuffix(strings.ReplaceAll(fmt.Sprintf(o.action, ports[o.source]), "PKI", pki), ")") +
			` queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1")`
		if strings.HasPrefix(o.source, "relp") {
			fmt.Fprintf(&rsyslogActions, "%s\n", action)
		} else {
			fmt.Fprintf(&rsyslogActions, "if $programname != \"relponly\" then {\n  %s\n}\n", action)
		}
	}
	siemfwdConf.WriteString("sinks:\n  console:\n    type: stdout\n")
	confPath := filepath.Join(dir, "siemfwd.yaml")
	require.NoError(t, os.WriteFile(confPath, []byte(siemfwdConf.String()), 0o600))
	p := Start(t, confPath, nil)

	sock := filepath.Join(dir, "log.sock")
	rs := startRsyslog(t, rsyslogd, dir, fmt.Sprintf(`global(workDirectory="%s" localHostname="%s"
  defaultNetstreamDriverCAFile="%s")
module(load="imuxsock" SysSock.Use="off")
module(load="omrelp")
input(type="imuxsock" Socket="%s" RateLimit.Interval="0" CreatePath="on")
%s`, dir, senderHost, filepath.Join(pki, "ca.crt"), sock, rsyslogActions.String()))

	// Every transport: each message with its fields.
	all := Markers("rsyslog", 50)
	sendLogger(t, sock, "senderapp", "local4.warning", all)
	procs := []*Proc{p}
	for _, src := range sources {
		waitMarkers(t, procs, src, all)
	}
	for _, src := range sources {
		for _, ev := range events(procs, src) {
			if !strings.Contains(ev.message, "rsyslog") {
				continue
			}
			require.Equal(t, senderHost, ev.hostname, "%s: %+v", src, ev)
			require.Equal(t, "senderapp", ev.app, "%s: %+v", src, ev)
			require.NotEmpty(t, ev.procid, "%s: %+v", src, ev)
			require.Equal(t, 4, ev.severity, "%s: %+v", src, ev)
			require.Equal(t, 20, ev.facility, "%s: %+v", src, ev)
		}
	}

	// RELP across a restart of siemfwd: a quarter delivered, a quarter in
	// flight at SIGTERM, a quarter sent while siemfwd is down, a quarter
	// after it is back.
	relp := Markers("relprestart", 200)
	sendLogger(t, sock, "relponly", "user.notice", relp[:50])
	waitMarkers(t, procs, "relp", relp[:50])
	sendLogger(t, sock, "relponly", "user.notice", relp[50:100])
	require.Equal(t, 0, p.Stop())
	sendLogger(t, sock, "relponly", "user.notice", relp[100:150])
	p2 := Start(t, confPath, nil)
	procs = append(procs, p2)
	sendLogger(t, sock, "relponly", "user.notice", relp[150:])
	waitMarkers(t, procs, "relp", relp)
	copies := 0
	for _, ev := range events(procs, "relp") {
		if strings.Contains(ev.message, "relprestart") {
			copies++
		}
	}
	t.Logf("relp across a restart: sent %d, stored %d (%d duplicates)", len(relp), copies, copies-len(relp))
	require.Equal(t, 0, p2.Stop())
	rs.stop(t)
}

// findRsyslog returns rsyslogd's path and the modules it has; without it,
// the test fails where services are required (CI) and skips elsewhere.
func findRsyslog(t *testing.T) (string, map[string]bool) {
	t.Helper()
	path, err := exec.LookPath("rsyslogd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/rsyslogd"); serr == nil {
			path, err = "/usr/sbin/rsyslogd", nil
		}
	}
	if err != nil {
		msg := "rsyslogd not found: run scripts/testenv/senders (installs rsyslog, rsyslog-gnutls, rsyslog-relp)"
		if os.Getenv("SIEMFWD_TEST_REQUIRE_SERVICES") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	modules := map[string]bool{}
	for _, dir := range []string{"/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/aarch64-linux-gnu/rsyslog", "/usr/lib/rsyslog"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			modules[strings.TrimSuffix(e.Name(), ".so")] = true
		}
	}
	for _, m := range []string{"lmnsd_gtls", "omrelp"} {
		if !modules[m] {
			t.Fatalf("rsyslog module %s missing: run scripts/testenv/senders", m)
		}
	}
	return path, modules
}

// freePort returns a loopback port that is free now, so that siemfwd binds
// the same one again after a restart.
func freePort(t *testing.T, udp bool) int {
	t.Helper()
	if udp {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// rsyslog is an rsyslogd run in the foreground with its own config, pid
// file and work directory, stopped by its PID.
type rsyslog struct {
	cmd    *exec.Cmd
	logs   *lineLog
	exited chan struct{}
}

func startRsyslog(t *testing.T, path, dir, conf string) *rsyslog {
	t.Helper()
	confPath := filepath.Join(dir, "rsyslog.conf")
	require.NoError(t, os.WriteFile(confPath, []byte(conf), 0o600))
	r := &rsyslog{logs: newLineLog(os.Getenv("SIEMFWD_TEST_LOGS") != ""), exited: make(chan struct{})}
	r.cmd = exec.Command(path, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	require.NoError(t, r.cmd.Start())
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			_ = r.cmd.Process.Kill()
			<-r.exited
		}
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", r.logs.text())
		}
	})
	// rsyslog is ready when its input socket exists.
	poll.UntilOK(t, patience, func() string {
		if _, err := os.Stat(filepath.Join(dir, "log.sock")); err != nil {
			return "rsyslogd has not created its socket: " + r.logs.text()
		}
		return ""
	})
	return r
}

func (r *rsyslog) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-r.exited:
	case <-time.After(patience):
		t.Fatal("rsyslogd did not stop")
	}
}

// sendLogger hands one message per marker to rsyslog with logger.
func sendLogger(t *testing.T, sock, tag, priority string, markers []string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "lines")
	var b strings.Builder
	for _, m := range markers {
		b.WriteString("real sender marker " + m + "\n")
	}
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o600))
	out, err := exec.Command("logger", "-u", sock, "-t", tag, "-i", "-p", priority, "-f", file).CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// senderEvent is what the test checks of an event.
type senderEvent struct {
	message, hostname, app, procid string
	severity, facility             int
}

// events returns the events that procs printed for source.
func events(procs []*Proc, source string) []senderEvent {
	var out []senderEvent
	for _, p := range procs {
		for _, line := range p.Stdout() {
			var doc struct {
				Message string `json:"message"`
				Labels  struct {
					Source string `json:"siemfwd_source"`
				} `json:"labels"`
				Host struct {
					Hostname string `json:"hostname"`
				} `json:"host"`
				Process struct {
					Name string `json:"name"`
					PID  int    `json:"pid"`
				} `json:"process"`
				Log struct {
					Syslog struct {
						Hostname string `json:"hostname"`
						Appname  string `json:"appname"`
						Procid   string `json:"procid"`
						Severity struct {
							Code int `json:"code"`
						} `json:"severity"`
						Facility struct {
							Code int `json:"code"`
						} `json:"facility"`
					} `json:"syslog"`
				} `json:"log"`
			}
			if json.Unmarshal([]byte(line), &doc) != nil || doc.Labels.Source != source {
				continue
			}
			ev := senderEvent{
				message: doc.Message, hostname: doc.Log.Syslog.Hostname, app: doc.Log.Syslog.Appname,
				procid: doc.Log.Syslog.Procid, severity: doc.Log.Syslog.Severity.Code, facility: doc.Log.Syslog.Facility.Code,
			}
			// ECS names, where the parser fills them instead.
			if ev.hostname == "" {
				ev.hostname = doc.Host.Hostname
			}
			if ev.app == "" {
				ev.app = doc.Process.Name
			}
			if ev.procid == "" && doc.Process.PID != 0 {
				ev.procid = fmt.Sprint(doc.Process.PID)
			}
			out = append(out, ev)
		}
	}
	return out
}

// waitMarkers waits until every marker arrived through source, in the
// output of any of procs.
func waitMarkers(t *testing.T, procs []*Proc, source string, markers []string) {
	t.Helper()
	poll.UntilOK(t, patience, func() string {
		seen := map[string]bool{}
		for _, ev := range events(procs, source) {
			if i := strings.LastIndexByte(ev.message, ' '); i >= 0 {
				seen[ev.message[i+1:]] = true
			}
		}
		var missing []string
		for _, m := range markers {
			if !seen[m] {
				missing = append(missing, m)
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("%s: %d of %d markers missing, e.g. %s", source, len(missing), len(markers), missing[0])
		}
		return ""
	})
}
