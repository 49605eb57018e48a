package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"siemfwd/internal/testservice"
)

// TestEdgeKafkaIndexerMatchesDirectReceipt runs the two-tier topology: an
// edge siemfwd receives syslog over TCP and produces the raw messages with
// their receive metadata to Kafka, reading no more than their syslog
// headers (its only sink forwards raw: process.RawProcessor); an indexer
// siemfwd consumes them and prints ECS. A sender profile matched by
// HOSTNAME, with its own zone, charset and product, must reach the indexer. A third siemfwd receives the same messages directly. Apart from
// event.created (each receiver's own clock) and event.id (each receipt is
// an event of its own), the documents must be equal, sender-derived fields
// included; the indexer keeps the ids the edge gave (its event.id header).
// The same messages also arrive over mutual TLS: the TLS session and the
// client certificate (tls.*) must reach the indexer too.
func TestEdgeKafkaIndexerMatchesDirectReceipt(t *testing.T) {
	broker := strings.Join(testservice.Kafka(t), ",")
	topic := fmt.Sprintf("siemfwd-edge-test-%d", time.Now().UnixNano())
	dir := t.TempDir()
	serverCert, serverKey, serverPool := selfSignedCert(t, dir, "server", x509.ExtKeyUsageServerAuth, "logs.test")
	clientCertFile, clientKeyFile, _ := selfSignedCert(t, dir, "client", x509.ExtKeyUsageClientAuth, "fw01.contoso.example")
	clientCert, err := tls.LoadX509KeyPair(clientCertFile, clientKeyFile)
	require.NoError(t, err)
	const profiles = `
    product: kerio_connect
    timezone: Europe/Prague
    profiles:
      - name: by-hostname
        match: {hostnames: ["relay*.contoso.example"]}
        timezone: America/New_York
        charset: windows-1250
        product: kerio_control
        observer: {name: relay-by-name}
      - name: loopback
        match: {addresses: ["127.0.0.0/8"]}
        observer: {name: mail-edge-test}
        labels: {site: test}`
	receiver := fmt.Sprintf(`
  tcp:
    type: syslog
    protocol: tcp
    address: "127.0.0.1:0"%s
  tls:
    type: syslog
    protocol: tls
    address: "127.0.0.1:0"
    tls: {cert_file: %q, key_file: %q, client_auth: require, client_ca_file: %q}%s`,
		profiles, serverCert, serverKey, clientCertFile, profiles)
	edge := startSiemfwd(t, fmt.Sprintf(`
log: {level: info, format: json}
sources:%s
sinks:
  kafka:
    type: kafka
    mode: edge
    key_by: hostname
    brokers: [%q]
    topic: %q
    allow_auto_topic_creation: true
`, receiver, broker, topic), 2)
	direct := startSiemfwd(t, fmt.Sprintf(`
log: {level: info, format: json}
sources:%s
sinks:
  out: {type: stdout}
`, receiver), 2)
	require.Equal(t, processingRaw, edge.processingMode(t), "an edge whose only sink forwards raw reads just the header")
	require.Equal(t, processingECS, direct.processingMode(t))
	lines := []string{
		"<20>1 2026-03-14T09:15:02.481Z mail01.contoso.example security - - - Failed IMAP login from 203.0.113.50, authentication method PLAIN",
		"<22>Mar 14 09:16:00 mail01 kerio[2211]: Recv: Queue-ID: 65f2c1a0-00000012, Service: SMTP, From: <n@news.example>, To: <b@contoso.example>, Size: 2048, Sender-Host: 198.51.100.7, SSL: yes",
		"<20>1 2026-03-14T09:29:00Z mail01.contoso.example security - - - SMTP Spam attack detected from 203.0.113.77:4433, client closed connection before SMTP greeting",
		// A sender profile matched by HOSTNAME: its zone, charset and product apply.
		"<14>Mar 14 09:30:00 relay1.contoso.example kerio[1]: Jiri \x8aedivy: unparsed text",
	}
	for _, s := range []*siemfwd{edge, direct} {
		c, err := net.Dial("tcp", s.addr["tcp"])
		require.NoError(t, err)
		tc, err := tls.Dial("tcp", s.addr["tls"], &tls.Config{RootCAs: serverPool, ServerName: "logs.test",
			Certificates: []tls.Certificate{clientCert}})
		require.NoError(t, err)
		for _, conn := range []net.Conn{c, tc} {
			for _, l := range lines {
				_, err := conn.Write([]byte(l + "\n"))
				require.NoError(t, err)
			}
			require.NoError(t, conn.Close())
		}
	}
	sent := 2 * len(lines)
	want := normalize(t, direct.waitLines(t, sent))
	// The edge has produced (its topic exists) by the time the direct copy is
	// through, or soon after: the indexer joins its group now.
	indexer := startSiemfwd(t, fmt.Sprintf(`
log: {level: info, format: json}
sources:
  from_edges:
    type: kafka
    brokers: [%q]
    topics: [%q]
    group_id: %q
    start_offset: earliest
    topic_refresh_interval: 200ms      # the edge creates the topic while the indexer waits
    product: kerio_connect
sinks:
  out: {type: stdout}
`, broker, topic, topic+"-indexers"), 0)

	indexed := indexer.waitLines(t, sent)
	for _, l := range indexed {
		var doc struct {
			Event struct {
				ID string `json:"id"`
			} `json:"event"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &doc))
		// The edge's TCP connection and frame ordinal, not a Kafka
		// position (which would be offset.timestamp).
		require.Regexp(t, `^[A-Za-z0-9_-]{20}\.[0-3]$`, doc.Event.ID, "the edge's id")
	}
	got := normalize(t, indexed)
	require.Equal(t, want, got)
	require.Contains(t, strings.Join(got, "\n"), `"mail-edge-test"`, "the edge's sender profile reached the indexer")
	require.Contains(t, strings.Join(got, "\n"), `"relay-by-name"`, "the profile the edge matched by hostname reached the indexer")
	tlsDocs := 0
	for _, d := range got {
		if strings.Contains(d, `"siemfwd_source":"tls"`) {
			tlsDocs++
			require.Contains(t, d, `"server_name":"logs.test"`, "the TLS session reached the indexer")
			require.Contains(t, d, `"siemfwd client test"`, "the client certificate reached the indexer")
			require.Contains(t, d, `"fw01.contoso.example"`)
		} else {
			require.NotContains(t, d, `"server_name"`, "a plain TCP event has no TLS session")
		}
	}
	require.Equal(t, len(lines), tlsDocs)
}

// normalize drops event.created and event.id and sorts the documents.
func normalize(t *testing.T, lines []string) []string {
	t.Helper()
	var out []string
	for _, l := range lines {
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &doc))
		delete(doc["event"].(map[string]any), "created")
		delete(doc["event"].(map[string]any), "id")
		b, err := json.Marshal(doc)
		require.NoError(t, err)
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}
