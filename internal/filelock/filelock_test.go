package filelock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestLockExcludesAndTimesOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	l1, err := Acquire(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description, so a second Acquire
	// in this process contends exactly as another process would.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, path); !errors.Is(err, ErrTimeout) {
		t.Fatalf("second Acquire while held: got %v, want ErrTimeout", err)
	}
	if err := l1.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(context.Background(), path)
	if err != nil {
		t.Fatalf("Acquire after Unlock: %v", err)
	}
	l2.Unlock()
}
