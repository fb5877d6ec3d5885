//go:build unix

package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Once armed, SIGTERM cancels the context with a cause that names it,
// instead of ending the process.
func TestInterruptibleCancelsOnSignalOnceArmed(t *testing.T) {
	ctx, stop := interruptible(context.Background(), time.Millisecond)
	defer stop()
	// Before it is armed a SIGTERM would end the test binary: give the
	// 1 ms timer ample time on a loaded machine.
	time.Sleep(500 * time.Millisecond)
	// One signal only: once caught, the default comes back, and a second
	// would end the test binary.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
	if ctx.Err() == nil {
		t.Fatal("SIGTERM did not cancel the context")
	}
	if got := context.Cause(ctx).Error(); !strings.Contains(got, "terminated") {
		t.Errorf("cause = %q, want it to name the signal", got)
	}
}

// stop cancels the context and keeps a timer that has not fired from
// arming the handler.
func TestInterruptibleStop(t *testing.T) {
	ctx, stop := interruptible(context.Background(), time.Hour)
	stop()
	if ctx.Err() == nil {
		t.Fatal("stop did not cancel the context")
	}
	stop() // twice is harmless
}
