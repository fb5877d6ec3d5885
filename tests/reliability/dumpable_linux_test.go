package reliability

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestProcessNotDumpable: the running helper is not dumpable (security
// review L6), so another process of the same user cannot read its
// /proc/<pid>/environ or memory. The kernel shows it: the /proc entry of a
// non-dumpable process belongs to root, whatever user it runs as. The
// helper runs as nobody, blocked reading its stdin.
func TestProcessNotDumpable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the helper as another user")
	}
	// A copy nobody may run, outside the test's root-only directories.
	dir, err := os.MkdirTemp("", "dcn-dumpable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	exe := dir + "/docker-credential-notation"
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	home := dir
	cmd := exec.Command(exe, "get")
	cmd.Env = []string{"HOME=" + home, "DOCKER_CREDENTIAL_NOTATION_PASSPHRASE=PASSPHRASE-MARKER-123"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	proc := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/environ"
	// Until main has run, the files of its /proc entry are nobody's; they turn root's once the
	// helper has hardened itself, before it reads stdin.
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(proc)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Sys().(*syscall.Stat_t).Uid == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still belongs to uid %d: the helper is dumpable", proc, fi.Sys().(*syscall.Stat_t).Uid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
