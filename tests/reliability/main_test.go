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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
)

const binName = "docker-credential-notation"

// notFound is the protocol's exact answer for a missing credential.
const notFound = "credentials not found in native keychain"

// bin is the path of the built binary.
var bin string

// baseEnv is the process environment with everything that could steer the
// helper removed.
var baseEnv []string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dcn-reliability-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, binName+helperbin.ExeSuffix())
	if err := helperbin.Build(context.Background(), bin, "v0.0.0-reliability"); err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		return 1
	}
	// Client libraries find the binary on PATH.
	os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "DOCKER_CREDENTIAL_NOTATION_"),
			name == "DOCKER_CONFIG", name == "HOME", name == "USERPROFILE",
			name == "XDG_CONFIG_HOME", name == "DBUS_SESSION_BUS_ADDRESS":
			continue
		}
		baseEnv = append(baseEnv, kv)
	}
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

// sandbox is one test's private environment.
type sandbox struct {
	Root     string // everything the helper may write is below it
	Home     string
	StoreDir string
	Env      []string
}

func (s *sandbox) StoreFile() string { return filepath.Join(s.StoreDir, "store.age") }

// newSandbox gives a test a fresh HOME, XDG_CONFIG_HOME and store directory.
// With no keychain reachable, backend auto picks the encrypted file.
func newSandbox(t testing.TB, extra ...string) *sandbox {
	t.Helper()
	root := t.TempDir()
	s := &sandbox{Root: root, Home: filepath.Join(root, "home"), StoreDir: filepath.Join(root, "store")}
	if err := os.MkdirAll(s.Home, 0o700); err != nil {
		t.Fatal(err)
	}
	s.Env = append(append([]string{}, baseEnv...),
		"HOME="+s.Home,
		"USERPROFILE="+s.Home,
		"XDG_CONFIG_HOME="+filepath.Join(s.Home, ".config"),
		"DOCKER_CONFIG="+filepath.Join(s.Home, ".docker"),
		"DOCKER_CREDENTIAL_NOTATION_STORE_DIR="+s.StoreDir,
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(root, "no-session-bus"),
	)
	s.Env = append(s.Env, extra...)
	return s
}

// result is what one run of the binary produced.
type result struct {
	Stdout, Stderr string
	Code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
}

// command returns the binary ready to run in the sandbox.
func (s *sandbox) command(stdin []byte, env []string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append([]string{}, s.Env...), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// run runs the binary to completion. It is safe from many goroutines.
func (s *sandbox) run(t testing.TB, stdin string, args ...string) result {
	return s.runEnv(t, []byte(stdin), nil, args...)
}

func (s *sandbox) runEnv(t testing.TB, stdin []byte, env []string, args ...string) result {
	cmd, stdout, stderr := s.command(stdin, env, args...)
	err := cmd.Run()
	r := result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.Code = exitErr.ExitCode()
	default:
		t.Errorf("failed to run %s %v: %v", binName, args, err)
		r.Code = -1
	}
	if strings.Contains(r.Stderr, "goroutine ") || strings.Contains(r.Stderr, "panic:") {
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
