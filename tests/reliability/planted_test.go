//go:build unix

package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPlantedFiles: files someone else planted in the store directory (a
// shared or hostile one) never hang the helper or make it write through a
// link: a FIFO as identity.txt or store.age, a symlinked lock file. Each
// run must end at once with exit 1 and a message naming the file.
func TestPlantedFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file, action, stdin, want string
		plant                           func(path string) error
	}{
		{"FIFO identity", "identity.txt", "store", `{"ServerURL":"r.example.com","Username":"u","Secret":"s"}`, "not a regular file",
			func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"FIFO store", "store.age", "get", "r.example.com", "not a regular file",
			func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"symlinked lock", "store.lock", "store", `{"ServerURL":"r.example.com","Username":"u","Secret":"s"}`, "symbolic link",
			func(p string) error {
				return os.Symlink(filepath.Join(filepath.Dir(p), "..", "created-by-the-victim"), p)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t, "DOCKER_CREDENTIAL_NOTATION_BACKEND=file")
			if err := os.MkdirAll(s.StoreDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := tc.plant(filepath.Join(s.StoreDir, tc.file)); err != nil {
				t.Skip(err)
			}
			cmd, stdout, stderr := s.command([]byte(tc.stdin), nil, tc.action)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Fatalf("%s hung on a planted %s", tc.action, tc.file)
			}
			if cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
				t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.action, cmd.ProcessState.ExitCode(), stdout, stderr, tc.want)
			}
			if strings.Contains(stdout.String(), "credentials not found") {
				t.Errorf("a planted file reported as not found")
			}
			if _, err := os.Lstat(filepath.Join(s.StoreDir, "..", "created-by-the-victim")); err == nil {
				t.Errorf("the helper created the file the planted link points at")
			}
		})
	}
}
