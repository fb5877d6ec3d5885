// Package tests drives the built docker-credential-notation binary end to
// end: testscript scripts in testdata/script (one per topic, stdin in,
// stdout, stderr and exit status checked) and the real client libraries
// that docker and oras use to run credential helpers.
//
// TestMain builds the binary once and puts its directory first on PATH, so
// every test, and every client library, finds it as docker-credential-notation.
// Each test gets its own HOME, XDG_CONFIG_HOME and store directory: nothing
// touches the real user's files.
package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
)

// binName is the program's name, as clients call it.
const binName = helperbin.Name

// testVersion is stamped into the binary, so that the version output can be
// checked exactly.
const testVersion = "v0.0.0-e2e"

// binDir holds the built binary; TestMain puts it first on PATH.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	bin, remove, err := helperbin.BuildTemp("dcn-e2e-bin-", testVersion)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	defer remove()
	binDir = filepath.Dir(bin)

	// Nothing from the developer's own environment may steer the helper.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		// REQUIRE_SECRET_SERVICE steers the tests, not the helper.
		if helperbin.Steers(name) && name != "DOCKER_CREDENTIAL_NOTATION_REQUIRE_SECRET_SERVICE" {
			os.Unsetenv(name)
		}
	}
	os.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return m.Run()
}

// isolate gives the test a fresh HOME, XDG_CONFIG_HOME and store directory
// in the process environment, which the binary inherits when a client
// library runs it.
func isolate(t *testing.T) *helperbin.Sandbox {
	t.Helper()
	s := helperbin.NewSandbox(t)
	s.Setenv(t)
	return s
}

// runHelper runs the built binary with args and stdin in the current
// process environment.
func runHelper(t *testing.T, stdin string, args ...string) helperbin.Result {
	t.Helper()
	cmd := exec.Command(binName, args...)
	cmd.Stdin = strings.NewReader(stdin)
	r, err := helperbin.Run(cmd)
	if err != nil {
		t.Fatalf("failed to run %s %v: %v", binName, args, err)
	}
	return r
}

// TestExitStatus pins the exit status of every kind of outcome: 0 for
// success and help, exactly 1 for every failure, as the reference
// implementation does (a panic or a crash would be 2). The scripts check
// the messages; testscript's `! exec` accepts any non-zero status.
func TestExitStatus(t *testing.T) {
	s := isolate(t)
	cred := `{"ServerURL":"registry.example.com","Username":"alice","Secret":"s3cr3t"}`
	if r := runHelper(t, cred, "store"); r.Code != 0 {
		t.Fatalf("store: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	good, err := os.ReadFile(s.StoreFile())
	if err != nil {
		t.Fatal(err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	otherKey := other.String()

	tests := []struct {
		name  string
		env   map[string]string
		stdin string
		args  []string
		// corrupt, if set, replaces the store file's content for this case.
		corrupt []byte
		want    int
	}{
		{name: "get", stdin: "registry.example.com", args: []string{"get"}, want: 0},
		{name: "list", args: []string{"list"}, want: 0},
		{name: "version", args: []string{"version"}, want: 0},
		{name: "-v", args: []string{"-v"}, want: 0},
		{name: "--help", args: []string{"--help"}, want: 0},
		{name: "-h", args: []string{"-h"}, want: 0},
		{name: "config", args: []string{"config"}, want: 0},
		{name: "get missing", stdin: "missing.example.com", args: []string{"get"}, want: 1},
		{name: "erase missing", stdin: "missing.example.com", args: []string{"erase"}, want: 1},
		{name: "no arguments", want: 1},
		{name: "unknown action", args: []string{"foo"}, want: 1},
		{name: "unknown flag", args: []string{"--bogus"}, want: 1},
		{name: "extra argument", stdin: "registry.example.com", args: []string{"get", "extra"}, want: 1},
		{name: "malformed JSON", stdin: `{"ServerURL":`, args: []string{"store"}, want: 1},
		{name: "no server URL", stdin: `{"Username":"u","Secret":"s"}`, args: []string{"store"}, want: 1},
		{name: "empty get", args: []string{"get"}, want: 1},
		{name: "oversized payload", stdin: strings.Repeat("a", 2<<20), args: []string{"get"}, want: 1},
		{name: "bad backend", env: map[string]string{"DOCKER_CREDENTIAL_NOTATION_BACKEND": "bogus"}, args: []string{"list"}, want: 1},
		{name: "bad debug", env: map[string]string{"DOCKER_CREDENTIAL_NOTATION_DEBUG": "maybe"}, args: []string{"list"}, want: 1},
		{name: "wrong key", env: map[string]string{"DOCKER_CREDENTIAL_NOTATION_IDENTITY": otherKey}, stdin: "registry.example.com", args: []string{"get"}, want: 1},
		{name: "corrupt store", corrupt: []byte("garbage\n"), args: []string{"list"}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.corrupt != nil {
				if err := os.WriteFile(s.StoreFile(), tt.corrupt, 0o600); err != nil {
					t.Fatal(err)
				}
				defer func() {
					if err := os.WriteFile(s.StoreFile(), good, 0o600); err != nil {
						t.Fatal(err)
					}
				}()
			}
			r := runHelper(t, tt.stdin, tt.args...)
			if r.Code != tt.want {
				t.Errorf("%s %v: exit %d, want %d\nstdout: %q\nstderr: %q", binName, tt.args, r.Code, tt.want, r.Stdout, r.Stderr)
			}
			if r.Crashed() {
				t.Errorf("%s %v crashed:\n%s", binName, tt.args, r.Stderr)
			}
		})
	}
}
