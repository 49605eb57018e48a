package diskbuf_test

import (
	"context"
	"fmt"
	"os"

	"siemfwd/pipeline/diskbuf"
)

// The writer side appends each batch (AppendWait for when_full "block",
// Append for "drop_newest"); the sink loop reads, delivers, then acks.
func Example() {
	dir, _ := os.MkdirTemp("", "diskbuf-example")
	defer os.RemoveAll(dir)
	cfg := diskbuf.DefaultConfig()
	cfg.MaxBytes = 1 << 30
	buf, err := diskbuf.Open(dir, cfg, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	_ = buf.AppendWait(ctx, [][]byte{[]byte("event 1"), []byte("event 2")})
	_ = buf.AppendWait(ctx, [][]byte{[]byte("event 3")})

	records, _, pos, _ := buf.Next(ctx, 2048, 4<<20)
	for _, r := range records {
		fmt.Println(string(r)) // deliver; retry until the sink accepts
	}
	_ = buf.Ack(pos) // only after delivery: what is not acked is replayed after a restart
	fmt.Println("unacked:", buf.Stats().UnackedRecords)
	_ = buf.Close()
	// Output:
	// event 1
	// event 2
	// event 3
	// unacked: 0
}
