package reliability

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrashSafetyFileStore kills a storing or erasing process with SIGKILL
// after a random delay until RELIABILITY_KILLS of them (30 by default) died
// mid-run (a process that finished first is checked too, and not counted). After each
// kill the store opens and decrypts, the key being written holds its old or
// its new value, and every other key is unchanged. Temporary files a killed
// writer left are gone after the next completed write.
func TestCrashSafetyFileStore(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL is Unix")
	}
	runCrash(t, newSandbox(t), envInt(t, "RELIABILITY_KILLS", 30), true)
}

// TestCrashSafetyKeychain is the same against a real Secret Service, with
// RELIABILITY_KEYCHAIN_KILLS kills (30 by default). The keychain backend's
// index item is the commit point; the journal lets the next write clean up.
func TestCrashSafetyKeychain(t *testing.T) {
	if os.Getenv("TEST_KEYRING_PASSWORD") == "" {
		t.Skip("no private Secret Service: run inside scripts/with-secret-service.sh")
	}
	s := newSandbox(t, "DOCKER_CREDENTIAL_NOTATION_BACKEND=keychain",
		"DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	emptyKeychain(t, s)
	runCrash(t, s, envInt(t, "RELIABILITY_KEYCHAIN_KILLS", 30), false)
	emptyKeychain(t, s)
}

// emptyKeychain erases every entry: the keychain is shared by every sandbox.
func emptyKeychain(t *testing.T, s *sandbox) {
	t.Helper()
	m, r := s.list(t)
	if m == nil {
		t.Fatalf("list: %v", r)
	}
	for server := range m {
		if r := s.run(t, server, "erase"); r.Code != 0 {
			t.Fatalf("erase %s: %v", server, r)
		}
	}
}

// runCrash kills writers until kills of them died mid-run, checking the
// store after each; file enables the checks of the file store's temporary
// files and of its decryption with age.
func runCrash(t *testing.T, s *sandbox, kills int, file bool) {
	// By default the delay spans the time one store takes here, so that
	// kills land before, during and (rarely) after the write.
	s.mustStore(t, "timing.example.com", "t0", "secret-t0") // generates the key
	start := time.Now()
	s.mustStore(t, "timing.example.com", "t", "secret-t")
	model := map[string]string{"timing.example.com": "t"}
	maxDelay := envInt(t, "RELIABILITY_KILL_MAX_MS", max(1, int(time.Since(start).Milliseconds())))
	// A timing taken while the machine was busy overshoots: each write that
	// completes before its kill shortens the delay (unless it is set), so
	// that kills keep landing during writes.
	adapt := os.Getenv("RELIABILITY_KILL_MAX_MS") == ""
	firstDelay := maxDelay
	// model is what the store must hold: server -> username.
	servers := []string{"a.example.com", "b.example.com", "c.example.com:5000", "https://d.example.com", "e.example.com"}
	for _, server := range servers[:3] {
		s.mustStore(t, server, "seed-"+server, "secret-seed")
		model[server] = "seed-" + server
	}
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)

	var killed, completed, leftTemps int
	attempts := 0
	for i := 0; killed < kills && i < 4*kills; i++ {
		attempts++
		server := servers[rng.IntN(len(servers))]
		old, had := model[server]
		newUser := fmt.Sprintf("kill%d", i)
		var cmd *exec.Cmd
		op := "store"
		if had && rng.IntN(3) == 0 {
			op = "erase"
			cmd, _, _ = s.command([]byte(server), nil, "erase")
		} else {
			// Vary the size so that the write takes longer now and then.
			secret := "secret-" + newUser + strings.Repeat("x", rng.IntN(64<<10))
			cmd, _, _ = s.command([]byte(credJSON(server, newUser, secret)), nil, "store")
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(maxDelay*1000)) * time.Microsecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		wasKilled := false
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			wasKilled = true
			killed++
		} else {
			completed++
			if err != nil {
				t.Fatalf("kill %d: %s %s finished with %v", i, op, server, err)
			}
			if adapt {
				maxDelay = max(1, maxDelay*4/5)
			}
		}

		m, r := s.list(t)
		if m == nil {
			t.Fatalf("kill %d (%s %s): the store no longer opens: %v", i, op, server, r)
		}
		for k, v := range model {
			if k != server && m[k] != v {
				t.Fatalf("kill %d (%s %s): untouched %s is %q, want %q", i, op, server, k, m[k], v)
			}
		}
		for k := range m {
			if _, ok := model[k]; !ok && k != server {
				t.Fatalf("kill %d (%s %s): %s appeared from nowhere", i, op, server, k)
			}
		}
		got, present := m[server]
		switch {
		case op == "erase" && present && got != old:
			t.Fatalf("kill %d: erase %s left %q, want absent or the old %q", i, server, got, old)
		case op == "store" && present && got != newUser && !(had && got == old):
			t.Fatalf("kill %d: store %s left %q, want the old %q or the new %q", i, server, got, old, newUser)
		case op == "store" && !present && had:
			t.Fatalf("kill %d: store %s lost the old value %q", i, server, old)
		}
		if !wasKilled && ((op == "store" && got != newUser) || (op == "erase" && present)) {
			t.Fatalf("kill %d: %s %s completed but the store shows %q", i, op, server, got)
		}
		if present {
			model[server] = got
			if got != old || !had {
				// The secret belongs to the value, too.
				c, found := s.get(t, server)
				if !found || !strings.HasPrefix(c.Secret, "secret-"+got) {
					t.Fatalf("kill %d: get %s = %+v, want the secret of %q", i, server, c, got)
				}
			}
		} else {
			delete(model, server)
		}
		if !file {
			continue
		}
		temps := tempFiles(t, s.StoreDir)
		if len(temps) > 0 {
			leftTemps++
		}
		if !wasKilled && len(temps) > 0 {
			t.Fatalf("kill %d: a completed write left temporary files %v", i, temps)
		}
	}
	// The next write removes what killed writers left.
	s.mustStore(t, "final.example.com", "final", "secret-final")
	if file {
		if temps := tempFiles(t, s.StoreDir); len(temps) > 0 {
			t.Errorf("temporary files survive a completed write: %v", temps)
		}
		checkDecryptsWithAge(t, s)
	}
	if !file {
		leftTemps = 0
	}
	t.Logf("kill delay 0-%d ms (%d ms at the end); %d attempts: %d killed mid-run, %d completed before the kill; %d left temporary files behind (file store only)", firstDelay, maxDelay, attempts, killed, completed, leftTemps)
	if killed < kills {
		t.Errorf("only %d of %d processes were killed mid-run: raise RELIABILITY_KILL_MAX_MS", killed, kills)
	}
}

// mountTmpfs mounts a tmpfs of the given size on a new directory, or skips
// when that is not possible (not root, no mount).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: cannot mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// TestFullDiskTmpfs fills a small tmpfs: store fails with a clear error and
// the old store is intact byte for byte, with no temporary file left.
func TestFullDiskTmpfs(t *testing.T) {
	dir := mountTmpfs(t, "256k")
	s := newSandbox(t)
	s.StoreDir = filepath.Join(dir, "store")
	s.Env = append(s.Env, "DOCKER_CREDENTIAL_NOTATION_STORE_DIR="+s.StoreDir)
	s.mustStore(t, "registry.example.com", "alice", "secret-old")
	before := readFile(t, s.StoreFile())
	// Fill the file system.
	filler := bytes.Repeat([]byte("f"), 16<<10)
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(filler); err != nil {
			break
		}
	}
	f.Close()
	r := s.run(t, credJSON("big.example.com", "bob", strings.Repeat("s", 200<<10)), "store")
	if r.Code != 1 || !strings.HasPrefix(r.Stdout, "failed to write credential store "+s.StoreFile()) || !strings.Contains(r.Stdout, "no space left on device") {
		t.Errorf("store on a full disk: %v; want exit 1 and failed to write credential store …: no space left on device", r)
	}
	if !bytes.Equal(readFile(t, s.StoreFile()), before) {
		t.Error("the store changed on a full disk")
	}
	if temps := tempFiles(t, s.StoreDir); len(temps) > 0 {
		t.Errorf("temporary files left on a full disk: %v", temps)
	}
	if c, found := s.get(t, "registry.example.com"); !found || c.Secret != "secret-old" {
		t.Errorf("get after the failed store = %+v, %v", c, found)
	}
}

// TestFullDiskFileSizeLimit does the same with RLIMIT_FSIZE (ulimit -f), which
// needs no privilege; SIGXFSZ is ignored so that write returns EFBIG.
func TestFullDiskFileSizeLimit(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	s := newSandbox(t)
	s.mustStore(t, "registry.example.com", "alice", "secret-old")
	before := readFile(t, s.StoreFile())
	cmd := exec.Command("sh", "-c", `trap '' XFSZ; ulimit -f 64 && exec "$0" store`, bin)
	cmd.Env = s.Env
	cmd.Stdin = strings.NewReader(credJSON("big.example.com", "bob", strings.Repeat("s", 200<<10)))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := cmd.Run()
	if err == nil || !strings.HasPrefix(stdout.String(), "failed to write credential store ") || !strings.Contains(stdout.String(), "file too large") {
		t.Errorf("store over the file size limit: %v, stdout %q; want failed to write credential store …: file too large", err, stdout.String())
	}
	if !bytes.Equal(readFile(t, s.StoreFile()), before) {
		t.Error("the store changed when the write failed")
	}
	if temps := tempFiles(t, s.StoreDir); len(temps) > 0 {
		t.Errorf("temporary files left: %v", temps)
	}
}

// TestReadOnlyDirectory remounts the store's tmpfs read-only (chmod does not
// stop root): store and erase fail with a clear error, get and list still
// answer, the store is unchanged.
func TestReadOnlyDirectory(t *testing.T) {
	dir := mountTmpfs(t, "1m")
	s := newSandbox(t)
	s.StoreDir = filepath.Join(dir, "store")
	s.Env = append(s.Env, "DOCKER_CREDENTIAL_NOTATION_STORE_DIR="+s.StoreDir)
	s.mustStore(t, "registry.example.com", "alice", "secret-old")
	before := readFile(t, s.StoreFile())
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only: %v %s", err, out)
	}
	defer exec.Command("mount", "-o", "remount,rw", dir).Run()
	for _, tt := range []struct{ action, stdin string }{
		{"store", credJSON("registry.example.com", "alice", "secret-new")},
		{"store", credJSON("other.example.com", "bob", "secret-bob")},
		{"erase", "registry.example.com"},
	} {
		r := s.run(t, tt.stdin, tt.action)
		if r.Code != 1 || !strings.Contains(r.Stdout, "read-only file system") || !strings.HasPrefix(r.Stdout, "failed to ") {
			t.Errorf("%s on a read-only directory: %v; want exit 1 and failed to …: read-only file system", tt.action, r)
		}
	}
	if c, found := s.get(t, "registry.example.com"); !found || c.Secret != "secret-old" {
		t.Errorf("get on a read-only directory = %+v, %v", c, found)
	}
	if m, r := s.list(t); m == nil || len(m) != 1 {
		t.Errorf("list on a read-only directory: %v %v", m, r)
	}
	if !bytes.Equal(readFile(t, s.StoreFile()), before) {
		t.Error("the store changed")
	}
}
