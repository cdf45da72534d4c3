package wal_test

import (
	"context"
	"fmt"
	"os"

	"github.com/shoal-kv/shoal/wal"
)

func Example() {
	dir, _ := os.MkdirTemp("", "wal-example")
	defer os.RemoveAll(dir)

	cfg := wal.DefaultConfig()
	cfg.Dir = dir
	cfg.Fsync = wal.FsyncAlways
	log, err := wal.Open(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer log.Close()

	// The master: append effects, reply once they are durable.
	ctx := context.Background()
	for _, effect := range []string{"SET a 1", "SET b 2", "DEL a"} {
		idx, err := log.Append(1, 1_700_000_000_000, []byte(effect))
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := log.WaitDurable(ctx, idx); err != nil {
			fmt.Println("refuse writes:", err)
			return
		}
	}

	// A follower reads what is durable.
	recs, _ := log.ReadFrom(2, 10)
	for _, r := range recs {
		fmt.Printf("%d epoch=%d %s\n", r.Index, r.Epoch, r.Payload)
	}

	// After a snapshot covering index 2, drop what it covers.
	_ = log.TruncateFront(3)
	fmt.Println("first", log.FirstIndex(), "last", log.LastIndex())
	// Output:
	// 2 epoch=1 SET b 2
	// 3 epoch=1 DEL a
	// first 3 last 3
}

// ExampleCreateSnapshot shows a snapshot's life: write, commit, load.
func ExampleCreateSnapshot() {
	dir, _ := os.MkdirTemp("", "wal-snap-example")
	defer os.RemoveAll(dir)

	w, err := wal.CreateSnapshot(dir, 42, 7)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer w.Abort() // no-op after Commit
	fmt.Fprint(w, "the store's image")
	if err := w.Commit(); err != nil {
		fmt.Println(err)
		return
	}

	r, err := wal.OpenLatestSnapshot(dir) // verified whole before it returns
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	body := make([]byte, r.BodySize)
	if _, err := r.Read(body); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("index %d epoch %d: %s\n", r.Index, r.Epoch, body)
	// Output: index 42 epoch 7: the store's image
}
