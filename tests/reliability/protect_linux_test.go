//go:build linux

package reliability

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
)

const protectPass = "correct-horse-battery-staple"

// lockedMessage is what a protocol action answers on a locked store.
const lockedMessage = "the store is locked: run `docker-credential-notation unlock`\n"

// needKeyctl skips where the kernel keyring is refused (not Linux, or a
// seccomp profile that blocks keyctl, as docker's default does).
func needKeyctl(t *testing.T) {
	t.Helper()
	if !keyctlWorks() {
		t.Skip("skipping: the kernel keyring is not available here")
	}
}

// detached runs the binary in a session of its own, with no controlling
// terminal: what docker's and kubelet's children see.
func (s *sandbox) detached(ctx context.Context, stdin string, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = s.Env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return helperbin.Run(cmd)
}

func (s *sandbox) mustRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r, err := s.detached(context.Background(), stdin, args...)
	if err != nil || r.Code != 0 {
		t.Fatalf("%v: %v, %v", args, r, err)
	}
	return r
}

// TestProtectConcurrentGets: once unlocked, 64 concurrent gets answer from
// the kernel keyring with no prompt; locked, 64 concurrent gets without a
// terminal fail at once with the hint, never not-found, never a hang.
func TestProtectConcurrentGets(t *testing.T) {
	needKeyctl(t)
	s := newSandbox(t)
	s.mustStore(t, "registry.example.com", "alice", "s3cr3t-marker")
	s.mustRun(t, protectPass+"\n", "protect", "--passphrase-stdin")
	t.Cleanup(func() { s.detached(context.Background(), "", "lock") })
	procs := envInt(t, "RELIABILITY_PROCS", 64)

	gets := func(want func(r result) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, procs)
		for range procs {
			wg.Go(func() {
				r, err := s.detached(ctx, "registry.example.com", "get")
				if err == nil {
					err = want(r)
				}
				if err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
	gets(func(r result) error {
		if r.Code != 1 || r.Stdout != lockedMessage || !strings.Contains(r.Stderr, "hint: unlock") {
			return fmt.Errorf("locked get: %v", r)
		}
		return nil
	})
	s.mustRun(t, protectPass+"\n", "unlock", "--passphrase-stdin", "--for", "10m")
	gets(func(r result) error {
		if r.Code != 0 || !strings.Contains(r.Stdout, `"Secret":"s3cr3t-marker"`) || r.Stderr != "" {
			return fmt.Errorf("unlocked get: %v", r)
		}
		return nil
	})
	s.mustRun(t, "", "lock")
	if r, _ := s.detached(context.Background(), "registry.example.com", "get"); r.Stdout != lockedMessage {
		t.Errorf("get after lock: %v", r)
	}
}

// TestProtectExpiry: the kernel drops the unlocked key at the end of
// --for, and the store is locked again.
func TestProtectExpiry(t *testing.T) {
	needKeyctl(t)
	s := newSandbox(t)
	s.mustStore(t, "registry.example.com", "alice", "s3cr3t")
	s.mustRun(t, protectPass+"\n", "protect", "--passphrase-stdin")
	t.Cleanup(func() { s.detached(context.Background(), "", "lock") })
	s.mustRun(t, protectPass+"\n", "unlock", "--passphrase-stdin", "--for", "1s")
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, _ := s.detached(context.Background(), "registry.example.com", "get")
		if r.Code == 1 && r.Stdout == lockedMessage {
			return
		}
		if r.Code != 0 {
			t.Fatalf("get while the key expires: %v", r)
		}
		if time.Now().After(deadline) {
			t.Fatal("still unlocked 15 s after an unlock --for 1s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestProtectCrashSafety kills protect and protect --undo at random
// moments: the store must open afterwards with the old key or the new one,
// and a completed protect leaves no plaintext key on disk.
func TestProtectCrashSafety(t *testing.T) {
	needKeyctl(t)
	s := newSandbox(t)
	s.mustStore(t, "registry.example.com", "alice", "s3cr3t")
	t.Cleanup(func() { s.detached(context.Background(), "", "lock") })
	kills := envInt(t, "RELIABILITY_PROTECT_KILLS", 8)
	// protect runs two scrypt operations (wrap, then read back); undo one.
	start := time.Now()
	s.mustRun(t, protectPass+"\n", "protect", "--passphrase-stdin")
	span := time.Since(start)
	s.mustRun(t, protectPass+"\n", "protect", "--undo", "--passphrase-stdin")
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d, protect takes %v", seed, span)

	protected := func() bool {
		_, err := os.Lstat(filepath.Join(s.StoreDir, "identity.age"))
		return err == nil
	}
	killed := 0
	for i := 0; i < kills; i++ {
		args := []string{"protect", "--passphrase-stdin"}
		if protected() {
			args = append(args, "--undo")
		}
		cmd := s.cmd([]byte(protectPass+"\n"), nil, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(span) + 1)))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		} else if err != nil {
			t.Fatalf("kill %d: %v finished with %v", i, args, err)
		}

		// The store opens with whichever key the files now name.
		if protected() {
			r, _ := s.detached(context.Background(), "registry.example.com", "get")
			if r.Stdout != lockedMessage {
				t.Fatalf("kill %d (%v): protected but not locked: %v", i, args, r)
			}
			s.mustRun(t, protectPass+"\n", "unlock", "--passphrase-stdin", "--for", "1m")
		}
		if r := s.mustRun(t, "registry.example.com", "get"); !strings.Contains(r.Stdout, `"Secret":"s3cr3t"`) {
			t.Fatalf("kill %d (%v): get = %v", i, args, r)
		}
		s.mustRun(t, "", "lock")
	}
	t.Logf("%d of %d runs killed mid-way", killed, kills)

	// Finished: no plaintext key, no temporary file, anywhere in the
	// sandbox.
	if !protected() {
		s.mustRun(t, protectPass+"\n", "protect", "--passphrase-stdin")
	} else {
		s.mustRun(t, protectPass+"\n", "unlock", "--passphrase-stdin", "--for", "1m")
		s.mustRun(t, "", "lock")
	}
	filepath.WalkDir(s.Root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", path)
		}
		if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("AGE-SECRET-KEY")) {
			t.Errorf("%s holds an age secret key after protect", path)
		}
		return nil
	})
}

// TestProtectKeychainCrashSafety kills protect --keychain and protect
// --undo at random moments against a real Secret Service: the store must
// open afterwards with the key the files name (the keychain item, or
// identity.txt). Run inside scripts/with-secret-service.sh.
func TestProtectKeychainCrashSafety(t *testing.T) {
	if os.Getenv("TEST_KEYRING_PASSWORD") == "" {
		t.Skip("no private Secret Service: run inside scripts/with-secret-service.sh")
	}
	s := newSandbox(t, "DOCKER_CREDENTIAL_NOTATION_BACKEND=file",
		"DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	s.mustStore(t, "registry.example.com", "alice", "s3cr3t")
	t.Cleanup(func() {
		s.detached(context.Background(), "", "protect", "--undo")
		s.detached(context.Background(), "", "lock")
	})
	kills := envInt(t, "RELIABILITY_PROTECT_KILLS", 20)
	start := time.Now()
	s.mustRun(t, "", "protect", "--keychain")
	s.mustRun(t, "", "protect", "--undo")
	span := time.Since(start) / 2
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d, a protect takes %v", seed, span)

	inKeychain := func() bool {
		_, err := os.Lstat(filepath.Join(s.StoreDir, "identity.keychain"))
		return err == nil
	}
	killed := 0
	for i := 0; i < kills; i++ {
		args := []string{"protect", "--keychain"}
		if inKeychain() {
			args = []string{"protect", "--undo"}
		}
		cmd := s.cmd(nil, nil, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(span) + 1)))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		} else if err != nil {
			t.Fatalf("kill %d: %v finished with %v", i, args, err)
		}
		s.mustRun(t, "", "lock") // not from the cache: from where the files say
		if r := s.mustRun(t, "registry.example.com", "get"); !strings.Contains(r.Stdout, `"Secret":"s3cr3t"`) {
			t.Fatalf("kill %d (%v): get = %v", i, args, r)
		}
	}
	t.Logf("%d of %d runs killed mid-way", killed, kills)
}
