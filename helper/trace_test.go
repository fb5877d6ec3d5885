package helper_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
)

const traceSecret = "tr4ce-S3CR3T-value"

// oneLine checks that w received exactly one trace line since the last
// call, containing each of want and not the secret, and resets w.
func oneLine(t *testing.T, w *bytes.Buffer, want ...string) string {
	t.Helper()
	line := w.String()
	w.Reset()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("trace wrote %q, want exactly one line", line)
	}
	if !strings.HasPrefix(line, "docker-credential-notation: debug: ") {
		t.Errorf("trace line %q lacks the debug prefix", line)
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("trace line %q does not contain %q", line, w)
		}
	}
	if strings.Contains(line, traceSecret) || strings.Contains(line, "S3CR3T") {
		t.Errorf("trace line %q contains the secret", line)
	}
	return line
}

func TestTraced(t *testing.T) {
	ctx := context.Background()
	var w bytes.Buffer
	mem := helpertest.NewMemStore()
	s := helper.Traced(mem, &w)
	k := mustKey(t, "https://Registry.Example.com/")
	c := helper.Credentials{ServerURL: "https://Registry.Example.com/", Username: "alice", Secret: traceSecret}

	if err := s.Put(ctx, k, c); err != nil {
		t.Fatalf("Put: %v", err)
	}
	oneLine(t, &w, "store registry.example.com:", `"https://Registry.Example.com/"`, `username "alice"`, "18 bytes", ": ok (")

	got, err := s.Get(ctx, k)
	if err != nil || got != c {
		t.Fatalf("Get = %v, %v; want %v", got, err, c)
	}
	oneLine(t, &w, "get registry.example.com:", `username "alice"`, `"https://Registry.Example.com/"`, "18 bytes")

	m, err := s.List(ctx)
	if err != nil || len(m) != 1 || m["https://Registry.Example.com/"] != "alice" {
		t.Fatalf("List = %v, %v", m, err)
	}
	oneLine(t, &w, "list: 1 entries", `"https://Registry.Example.com/"`)

	if err := s.Delete(ctx, k); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	oneLine(t, &w, "erase registry.example.com: ok")

	// Not-found passes through as ErrNotFound and is traced.
	if _, err := s.Get(ctx, k); !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	oneLine(t, &w, "get registry.example.com: error: ", notFoundMessage)
	if err := s.Delete(ctx, k); !errors.Is(err, helper.ErrNotFound) {
		t.Fatalf("Delete after Delete: %v, want ErrNotFound", err)
	}
	oneLine(t, &w, "erase registry.example.com: error: ", notFoundMessage)
}

func TestTracedErrors(t *testing.T) {
	ctx := context.Background()
	var w bytes.Buffer
	backendErr := errors.New("failed to unlock the keychain: locked")
	mem := helpertest.NewMemStore()
	mem.Err = backendErr
	s := helper.Traced(mem, &w)
	k := mustKey(t, "localhost:5000")
	c := helper.Credentials{ServerURL: "localhost:5000", Username: "<token>", Secret: traceSecret}

	if err := s.Put(ctx, k, c); !errors.Is(err, backendErr) {
		t.Errorf("Put: %v, want the backend's error", err)
	}
	oneLine(t, &w, "store localhost:5000:", `username "<token>"`, "error: failed to unlock the keychain: locked")

	if _, err := s.Get(ctx, k); !errors.Is(err, backendErr) {
		t.Errorf("Get: %v, want the backend's error", err)
	}
	oneLine(t, &w, "get localhost:5000: error: failed to unlock the keychain: locked")

	if _, err := s.List(ctx); !errors.Is(err, backendErr) {
		t.Errorf("List: %v, want the backend's error", err)
	}
	oneLine(t, &w, "list: error: failed to unlock the keychain: locked")

	if err := s.Delete(ctx, k); !errors.Is(err, backendErr) {
		t.Errorf("Delete: %v, want the backend's error", err)
	}
	oneLine(t, &w, "erase localhost:5000: error: failed to unlock the keychain: locked")
}

// TestTracedHandle runs the protocol over a traced store: one line per
// action, the secret in none, and the same stdout as without the trace.
func TestTracedHandle(t *testing.T) {
	var w bytes.Buffer
	plain := helpertest.NewMemStore()
	traced := helper.Traced(helpertest.NewMemStore(), &w)
	for _, step := range []struct {
		action, stdin string
		want          []string
	}{
		{"store", storePayload("https://index.docker.io/v1/", "<token>", traceSecret), []string{"store docker.io:"}},
		{"get", "docker.io", []string{"get docker.io:"}},
		{"list", "unused", []string{"list: 1 entries"}},
		{"get", "missing.example.com", []string{"get missing.example.com: error:"}},
		{"erase", "https://index.docker.io/v1/", []string{"erase docker.io: ok"}},
		{"erase", "https://index.docker.io/v1/", []string{"erase docker.io: error:"}},
	} {
		wantOut, wantErr := handle(t, plain, step.action, step.stdin)
		gotOut, gotErr := handle(t, traced, step.action, step.stdin)
		if gotOut != wantOut || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && helper.WireMessage(gotErr) != helper.WireMessage(wantErr)) {
			t.Errorf("%s %q: traced = %q, %v; plain = %q, %v", step.action, step.stdin, gotOut, gotErr, wantOut, wantErr)
		}
		oneLine(t, &w, step.want...)
	}
}

// TestTracedConforms runs the conformance suite on a traced store, with a
// plain bytes.Buffer as the trace: a traced store is used from several
// goroutines like any other.
func TestTracedConforms(t *testing.T) {
	helpertest.Run(t, func(t *testing.T) helper.Store {
		var w bytes.Buffer
		t.Cleanup(func() {
			if strings.Contains(w.String(), "S3CR3T") {
				t.Errorf("trace contains a secret")
			}
		})
		return helper.Traced(helpertest.NewMemStore(), &w)
	})
}

// TestTracedConcurrentLines checks that concurrent calls write whole lines.
func TestTracedConcurrentLines(t *testing.T) {
	var w bytes.Buffer
	s := helper.Traced(helpertest.NewMemStore(), &w)
	ctx := context.Background()
	k := mustKey(t, "registry.example.com")
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			_ = s.Put(ctx, k, helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: traceSecret})
			_, _ = s.Get(ctx, k)
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(w.String(), "\n"), "\n")
	if len(lines) != 100 {
		t.Fatalf("100 calls wrote %d lines", len(lines))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "docker-credential-notation: debug: ") || !strings.HasSuffix(l, ")") {
			t.Errorf("interleaved trace line %q", l)
		}
	}
}
