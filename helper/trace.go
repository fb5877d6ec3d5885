package helper

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Traced wraps s so that every call is written to w as one line: the method,
// the key, the outcome and how long it took. Secrets never appear; user
// names do, since they are needed to diagnose a wrong login. Lines are
// written whole, one at a time, so w need not be safe for concurrent use.
func Traced(s Store, w io.Writer) Store {
	return &traced{s: s, w: w}
}

type traced struct {
	s  Store
	mu sync.Mutex // serializes writes to w
	w  io.Writer
}

var _ Store = (*traced)(nil)

func (t *traced) logf(start time.Time, format string, args ...any) {
	line := fmt.Sprintf(ProgramName+": debug: "+format+" (%s)\n", append(args, time.Since(start).Round(time.Microsecond))...)
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = io.WriteString(t.w, line)
}

func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	return "error: " + err.Error()
}

func (t *traced) Get(ctx context.Context, key Key) (Credentials, error) {
	start := time.Now()
	c, err := t.s.Get(ctx, key)
	if err == nil {
		t.logf(start, "get %s: found username %q, stored as %q, secret of %d bytes", key, c.Username, c.ServerURL, len(c.Secret))
	} else {
		t.logf(start, "get %s: %s", key, outcome(err))
	}
	return c, err
}

func (t *traced) Put(ctx context.Context, key Key, c Credentials) error {
	start := time.Now()
	err := t.s.Put(ctx, key, c)
	t.logf(start, "store %s: server URL %q, username %q, secret of %d bytes: %s", key, c.ServerURL, c.Username, len(c.Secret), outcome(err))
	return err
}

func (t *traced) Delete(ctx context.Context, key Key) error {
	start := time.Now()
	err := t.s.Delete(ctx, key)
	t.logf(start, "erase %s: %s", key, outcome(err))
	return err
}

func (t *traced) List(ctx context.Context) (map[string]string, error) {
	start := time.Now()
	m, err := t.s.List(ctx)
	if err == nil {
		urls := make([]string, 0, len(m))
		for u := range m {
			urls = append(urls, u)
		}
		sort.Strings(urls)
		t.logf(start, "list: %d entries %q", len(m), urls)
	} else {
		t.logf(start, "list: %s", outcome(err))
	}
	return m, err
}
