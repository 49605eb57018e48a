package kafka

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/testservice"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// TestKeyBy: the record key of each key_by, and what an empty key_by means
// in each mode. A sender's key never depends on its source port or on the
// addresses its messages mention.
func TestKeyBy(t *testing.T) {
	v4 := netip.MustParseAddrPort("192.0.2.7:51514")
	mapped := netip.AddrPortFrom(netip.AddrFrom16(netip.MustParseAddr("::ffff:192.0.2.7").As16()), 40000)
	v6 := netip.MustParseAddrPort("[2001:db8::9]:514")
	ev := func(peer netip.AddrPort, hostname string) *pipeline.Event {
		return &pipeline.Event{Peer: peer, Routes: pipeline.Routes{Hostname: hostname, SourceIP: "203.0.113.50"}}
	}
	tests := []struct {
		name  string
		mode  string
		keyBy string
		ev    *pipeline.Event
		want  string
	}{
		{"edge default is the sender address", ModeEdge, "", ev(v4, "mail"), "192.0.2.7"},
		{"ecs default is the template", ModeECS, "", ev(v4, "mail"), "203.0.113.50"},
		{"sender address without the port", ModeEdge, KeyBySenderAddress, ev(netip.AddrPortFrom(v4.Addr(), 1), "mail"), "192.0.2.7"},
		{"a v4-mapped peer is the v4 sender", ModeEdge, KeyBySenderAddress, ev(mapped, "mail"), "192.0.2.7"},
		{"v6 sender", ModeECS, KeyBySenderAddress, ev(v6, ""), "2001:db8::9"},
		{"no peer (a file): the hostname", ModeEdge, KeyBySenderAddress, ev(netip.AddrPort{}, "mail"), "mail"},
		{"no peer, no hostname: no key", ModeEdge, KeyBySenderAddress, ev(netip.AddrPort{}, ""), ""},
		{"hostname", ModeEdge, KeyByHostname, ev(v4, "mail"), "mail"},
		{"no hostname: the sender address", ModeEdge, KeyByHostname, ev(v4, ""), "192.0.2.7"},
		{"template in edge mode", ModeEdge, KeyByTemplate, ev(v4, "mail"), "203.0.113.50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig([]string{"127.0.0.1:9092"}, "siem")
			cfg.Mode, cfg.KeyBy = tt.mode, tt.keyBy
			s := newSink(t, cfg)
			assert.Equal(t, tt.want, string(s.appendKey([]byte("x"), tt.ev)[1:]))
		})
	}
}

// TestEdgeModeWarnsThatAKeyTemplateIsNotUsed: a key set in edge mode
// without key_by: template would be silently ignored otherwise.
func TestEdgeModeWarnsThatAKeyTemplateIsNotUsed(t *testing.T) {
	for _, tt := range []struct {
		name, mode, keyBy, key string
		warn                   bool
	}{
		{"edge with a key", ModeEdge, "", "{log.syslog.hostname}", true},
		{"edge with the default key", ModeEdge, "", DefaultConfig().Key, false},
		{"edge with key_by template", ModeEdge, KeyByTemplate, "{log.syslog.hostname}", false},
		{"ecs with a key", ModeECS, "", "{log.syslog.hostname}", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := testConfig([]string{"127.0.0.1:9092"}, "siem")
			cfg.Mode, cfg.KeyBy, cfg.Key = tt.mode, tt.keyBy, tt.key
			_, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)), metrics.New())
			require.NoError(t, err)
			assert.Equal(t, tt.warn, strings.Contains(logs.String(), "key is not used"), logs.String())
		})
	}
}

// TestRealBrokerEdgeKeepsEachSenderInOnePartitionInOrder: edge records from
// twelve senders, each reconnecting (a new source port) and each naming
// many client addresses in its messages, go to a 6-partition topic over
// several writes. Every sender's records are in one partition, in the
// order they were written; the senders spread over the partitions. With
// key_by hostname, senders relayed through one address are kept apart by
// their hostnames.
func TestRealBrokerEdgeKeepsEachSenderInOnePartitionInOrder(t *testing.T) {
	brokers := realBrokers(t)
	const partitions, senders, perSender = 6, 12, 200
	origin := &pipeline.Origin{Source: "syslog_tcp", Transport: "tcp", Format: pipeline.FormatSyslog}
	line := regexp.MustCompile(`^<13>Jan  2 03:04:05 (host\d+) app: from 198\.51\.100\.\d+ seq (\d+)$`)
	for _, keyBy := range []string{KeyBySenderAddress, KeyByHostname} {
		t.Run(keyBy, func(t *testing.T) {
			topic := uniqueTopic(t)
			testservice.CreateTopic(t, brokers, topic, partitions)
			cfg := testConfig(brokers, topic)
			cfg.Mode, cfg.KeyBy = ModeEdge, keyBy
			s := newSink(t, cfg)
			// Interleaved senders, as an edge receives them; 8 writes.
			var evs []*pipeline.Event
			for seq := range perSender {
				for h := range senders {
					peer := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + h)}), uint16(40000+seq%7))
					if keyBy == KeyByHostname {
						peer = netip.MustParseAddrPort("192.0.2.1:514") // one relay for all
					}
					evs = append(evs, &pipeline.Event{Origin: origin, Peer: peer,
						Raw:    fmt.Appendf(nil, "<13>Jan  2 03:04:05 host%d app: from 198.51.100.%d seq %d", h, seq%250, seq),
						Routes: pipeline.Routes{Hostname: fmt.Sprintf("host%d", h), SourceIP: fmt.Sprintf("198.51.100.%d", seq%250)}})
				}
			}
			for i := 0; i < len(evs); i += len(evs) / 8 {
				require.NoError(t, s.Write(context.Background(), evs[i:i+len(evs)/8]))
			}
			recs := consume(t, brokers, topic, len(evs))
			require.Len(t, recs, len(evs))
			partitionOf := map[string]int32{}
			last := map[string]int{}
			used := map[int32]bool{}
			for _, r := range recs { // kgo returns each partition's records in offset order
				m := line.FindSubmatch(r.Value)
				require.NotNil(t, m, "record value %q", r.Value)
				host := string(m[1])
				seq, err := strconv.Atoi(string(m[2]))
				require.NoError(t, err)
				if p, seen := partitionOf[host]; seen {
					require.Equal(t, p, r.Partition, "%s's records are all in one partition", host)
					require.Equal(t, last[host]+1, seq, "%s's records are in order", host)
				} else {
					require.Zero(t, seq, "%s's first record comes first", host)
				}
				partitionOf[host], last[host] = r.Partition, seq
				used[r.Partition] = true
			}
			require.Len(t, partitionOf, senders)
			for host, seq := range last {
				assert.Equal(t, perSender-1, seq, "%s: every record read back", host)
			}
			assert.Greater(t, len(used), 2, "twelve senders spread over the partitions")
		})
	}
}
