package kafka

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"siemfwd/internal/poll"
	"siemfwd/internal/testservice"
	"siemfwd/pipeline"
	"siemfwd/pipeline/metrics"
)

// The kill test runs one member of the group in a child process (this test
// binary, re-executed) whose "sink" appends each batch's line numbers to a
// file and fsyncs it before acking, as a durable sink would. It SIGKILLs the
// child mid-stream; the member in the test process must take the child's
// partitions over once the coordinator drops the child (session timeout),
// so that every record is delivered at least once by one of them.

const killChildEnv = "SIEMFWD_KAFKA_KILL_CHILD" // topic, group, output file

func TestKillOneMemberTheOtherTakesOver(t *testing.T) {
	if os.Getenv(killChildEnv) != "" {
		t.Skip("in the child")
	}
	brokers := realBrokers(t)
	if testing.Short() {
		t.Skip("starts a child process")
	}
	topic, group := uniqueName(t, "topic"), uniqueName(t, "group")
	testservice.CreateTopic(t, brokers, topic, 6)
	const n = 30000
	produce(t, brokers, topic, 0, n)

	dir := t.TempDir()
	delivered := filepath.Join(dir, "delivered.txt")
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^TestKillChild$", "-test.v")
	cmd.Env = append(os.Environ(), killChildEnv+"="+strings.Join([]string{topic, group, delivered}, ","))
	logf, err := os.Create(filepath.Join(dir, "child.log"))
	require.NoError(t, err)
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	require.NoError(t, cmd.Start())
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("child log:\n%s", b)
		}
	})

	// The child starts alone and takes every partition.
	poll.Until(t, 60*time.Second, "the child delivered 500", func() bool { return len(readDelivered(t, delivered)) >= 500 })

	// This member joins: the partitions are split between the two.
	cfg := testConfig(brokers, topic, group)
	cfg.BatchEvents = 50
	r := start(t, "kafka_survivor", cfg, 4)
	c := collect(t, r.out)
	poll.Until(t, 60*time.Second, "both members are assigned",
		func() bool { return groupMembersAssigned(t, brokers, group, 2) })
	progress := len(readDelivered(t, delivered))
	poll.Until(t, 60*time.Second, "the child delivered more after the rebalance",
		func() bool { return len(readDelivered(t, delivered)) >= progress+500 })

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	killed = true
	_ = cmd.Wait()
	byChild := readDelivered(t, delivered)
	require.Less(t, len(byChild), n, "the child was killed mid-stream")

	// After the child's session times out, this member owns all six partitions.
	poll.Until(t, 80*time.Second, "every record was delivered by one member or the other", func() bool {
		for i := range n {
			if byChild[i] == 0 && c.count(i) == 0 {
				return false
			}
		}
		return true
	})
	r.Stop(t)
	dup := 0
	for i := range n {
		if byChild[i]+c.count(i) > 1 {
			dup++
		}
	}
	t.Logf("child delivered %d distinct, survivor %d distinct, %d delivered twice (at least once allows it)",
		len(byChild), c.distinct(), dup)
	assert.Greater(t, c.distinct(), n-len(byChild)-1, "the survivor took over the child's partitions")
}

func (c *collector) count(i int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[i]
}

// readDelivered reads the child's file: line number → deliveries. A last
// line without its newline (the kill came mid-write) was not acked: ignored.
func readDelivered(t testing.TB, path string) map[int]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[int]int{}
	}
	require.NoError(t, err)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	seen := map[int]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		require.NoError(t, err)
		seen[n]++
	}
	return seen
}

// TestKillChild is the child of TestKillOneMemberTheOtherTakesOver.
func TestKillChild(t *testing.T) {
	env := os.Getenv(killChildEnv)
	if env == "" {
		t.Skip("only runs as the child of TestKillOneMemberTheOtherTakesOver")
	}
	args := strings.Split(env, ",")
	require.Len(t, args, 3)
	topic, group, path := args[0], args[1], args[2]
	brokers := realBrokers(t)
	cfg := testConfig(brokers, topic, group)
	cfg.BatchEvents = 50
	m, km := metrics.New(), NewMetrics()
	src, err := New("kafka_child", cfg, testLogger(t), m, km)
	require.NoError(t, err)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer f.Close()

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer cancel()
	out := make(chan pipeline.Batch, 4)
	go func() {
		var buf []byte
		for b := range out {
			buf = buf[:0]
			for _, ev := range b.Events {
				buf = fmt.Appendf(buf, "%d\n", lineNumber(t, ev.Raw))
			}
			_, err := f.Write(buf)
			if err == nil {
				err = f.Sync()
			}
			// A slow sink, so that the kill finds the child mid-stream: this
			// paces the child, it synchronises nothing.
			time.Sleep(20 * time.Millisecond)
			b.Done(err)
		}
	}()
	require.NoError(t, src.Run(ctx, out))
}
