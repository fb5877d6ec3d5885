// Package filelock provides an exclusive lock between processes, held on a
// lock file, that a context can abandon: a process waiting for the lock never
// waits past its deadline.
package filelock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrTimeout is returned by Lock when the context ends before the lock is
// acquired.
var ErrTimeout = errors.New("timed out waiting for the lock")

// Lock is a held lock; Unlock releases it.
type Lock struct {
	f *os.File
}

// pollInterval is how often a waiting Lock retries. Writes take a few
// milliseconds, so a short interval keeps waiters responsive.
const pollInterval = 2 * time.Millisecond

// Acquire takes the exclusive lock on path, creating the file (mode 0600) if
// needed, and waits until it is free or ctx ends.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	// Never through a symbolic link: in a directory someone else can
	// write, a planted link would make this process create a file
	// wherever it points.
	f, err := openLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to open lock file: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a regular file", path)
		}
		return nil, fmt.Errorf("failed to open lock file: %w", err)
	}
	delay := pollInterval
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("failed to lock %s: %w", path, err)
		}
		if ok {
			return &Lock{f: f}, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%w on %s: %v", ErrTimeout, path, context.Cause(ctx))
		case <-time.After(delay):
		}
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
