// Package reliability is the evidence behind RELIABILITY.md and SECURITY.md:
// the built docker-credential-notation binary under many concurrent
// processes, SIGKILL at random moments, a full disk, a read-only directory,
// a corpus of hostile input and damaged store files, with a marker secret
// that must never leak.
//
// TestMain builds the binary once, as tests/main_test.go does. Every test
// runs the binary with an explicit environment of its own (HOME,
// XDG_CONFIG_HOME and the store directory in a temporary directory), so no
// test touches the user's files and tests need not share process state.
//
// The default run is the fast subset CI runs. The environment scales it:
//
//	RELIABILITY_ROUNDS          concurrency rounds (default 3)
//	RELIABILITY_PROCS           concurrent processes per round (default 64)
//	RELIABILITY_KILLS           SIGKILLs of a writer (default 30)
//	RELIABILITY_KILL_MAX_MS     upper bound of the random delay before a kill (default: the time one store takes)
//	RELIABILITY_KEYCHAIN_PROCS  concurrent processes for the keychain (default 8)
//	RELIABILITY_KEYCHAIN_KILLS  SIGKILLs of a keychain writer (default 30)
//
// The keychain tests run only inside scripts/with-secret-service.sh (when
// TEST_KEYRING_PASSWORD is set).
package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
)

const binName = helperbin.Name

// notFound is the protocol's exact answer for a missing credential.
const notFound = "credentials not found in native keychain"

// bin is the path of the built binary.
var bin string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	var remove func()
	var err error
	bin, remove, err = helperbin.BuildTemp("dcn-reliability-bin-", "v0.0.0-reliability")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	defer remove()
	// Client libraries find the binary on PATH.
	os.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	return m.Run()
}

// envInt reads a positive integer setting, or returns def.
func envInt(t testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// sandbox is one test's private environment (internal/testutil/helperbin):
// everything the helper may write is below Root.
type sandbox struct {
	*helperbin.Sandbox
	// Env is the binary's environment: the test's, without anything that
	// could steer the helper, then the sandbox's and the test's variables.
	Env []string
}

// newSandbox gives a test a fresh HOME, XDG_CONFIG_HOME and store
// directory, and the variables extra (name=value). With no keychain
// reachable, backend auto picks the encrypted file.
func newSandbox(t testing.TB, extra ...string) *sandbox {
	t.Helper()
	s := helperbin.NewSandbox(t)
	return &sandbox{Sandbox: s, Env: s.Env(extra...)}
}

// result is what one run of the binary produced.
type result = helperbin.Result

// cmd returns the binary ready to run in the sandbox, with the variables
// env added to its environment.
func (s *sandbox) cmd(stdin []byte, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append([]string{}, s.Env...), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	return cmd
}

// command is cmd with stdout and stderr collected, for a test that
// starts and waits for the process itself.
func (s *sandbox) command(stdin []byte, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := s.cmd(stdin, env, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// run runs the binary to completion. It is safe from many goroutines.
func (s *sandbox) run(t testing.TB, stdin string, args ...string) result {
	return s.runEnv(t, []byte(stdin), nil, args...)
}

func (s *sandbox) runEnv(t testing.TB, stdin []byte, env []string, args ...string) result {
	r, err := helperbin.Run(s.cmd(stdin, env, args...))
	if err != nil {
		t.Errorf("failed to run %s %v: %v", binName, args, err)
	}
	if r.Crashed() {
		t.Errorf("%s %v crashed:\n%s", binName, args, r.Stderr)
	}
	return r
}

// mustStore stores a credential and fails the test if that does not work.
func (s *sandbox) mustStore(t testing.TB, server, user, secret string) {
	t.Helper()
	if r := s.run(t, credJSON(server, user, secret), "store"); r.Code != 0 {
		t.Fatalf("store %s: %v", server, r)
	}
}

func credJSON(server, user, secret string) string {
	b, _ := json.Marshal(map[string]string{"ServerURL": server, "Username": user, "Secret": secret})
	return string(b)
}

// list runs list and decodes its answer; ok is false when it failed.
func (s *sandbox) list(t testing.TB) (map[string]string, result) {
	r := s.run(t, "", "list")
	if r.Code != 0 {
		return nil, r
	}
	m := map[string]string{}
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		t.Errorf("list printed %q: %v", r.Stdout, err)
		return nil, r
	}
	return m, r
}

// cred is a get answer.
type cred struct {
	ServerURL, Username, Secret string
}

// get runs get; found is false for the exact not-found answer, and any other
// failure fails the test.
func (s *sandbox) get(t testing.TB, server string) (c cred, found bool) {
	t.Helper()
	r := s.run(t, server, "get")
	switch {
	case r.Code == 0:
		if err := json.Unmarshal([]byte(r.Stdout), &c); err != nil {
			t.Errorf("get %s printed %q: %v", server, r.Stdout, err)
		}
		return c, true
	case r.Code == 1 && r.Stdout == notFound+"\n":
		return c, false
	}
	t.Errorf("get %s: %v", server, r)
	return c, false
}

// tempFiles lists leftover temporary store files.
func tempFiles(t testing.TB, dir string) []string {
	m, err := filepath.Glob(filepath.Join(dir, ".store.age.tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
