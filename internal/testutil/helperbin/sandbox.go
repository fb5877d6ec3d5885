package helperbin

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/internal/keyctl"
)

// Steers reports whether the environment variable name could steer the
// binary away from what a test sets up: the helper's own settings
// (DOCKER_CREDENTIAL_NOTATION_*), the user's docker configuration
// (DOCKER_CONFIG) and containers' auth file (REGISTRY_AUTH_FILE), proxies
// and the system's trusted certificates.
func Steers(name string) bool {
	switch strings.ToUpper(name) {
	case "DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR":
		return true
	}
	return strings.HasPrefix(name, "DOCKER_CREDENTIAL_NOTATION_")
}

// sandboxed are the variables a Sandbox sets.
var sandboxed = []string{"HOME", "USERPROFILE", "AppData", "LocalAppData", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "DOCKER_CONFIG",
	"DOCKER_CREDENTIAL_NOTATION_STORE_DIR", "DBUS_SESSION_BUS_ADDRESS"}

// Environ is the test's environment without the variables that [Steers]
// names or that a Sandbox sets.
func Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if Steers(name) || isSandboxed(name) {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func isSandboxed(name string) bool {
	for _, s := range sandboxed {
		if strings.EqualFold(name, s) {
			return true
		}
	}
	return false
}

// Sandbox is one test's private environment for the binary: a HOME, a
// configuration directory and a store directory below Root, and a session
// bus address where no bus listens, so that backend auto picks the
// encrypted file. Nothing the binary writes lands outside Root.
type Sandbox struct {
	// Root is the test's temporary directory; Home (created) and StoreDir
	// (not created: the binary makes it) are below it.
	Root, Home, StoreDir string
	// Vars are the variables that point the binary at the sandbox (HOME,
	// USERPROFILE, AppData, LocalAppData, XDG_CONFIG_HOME, XDG_CACHE_HOME,
	// XDG_RUNTIME_DIR (containers' auth.json), DOCKER_CONFIG,
	// DOCKER_CREDENTIAL_NOTATION_STORE_DIR, DBUS_SESSION_BUS_ADDRESS), as
	// name=value.
	Vars []string
}

// NewSandbox makes a sandbox in a new t.TempDir.
func NewSandbox(t testing.TB) *Sandbox {
	t.Helper()
	root := t.TempDir()
	s := &Sandbox{Root: root, Home: filepath.Join(root, "home"), StoreDir: filepath.Join(root, "store")}
	if err := os.MkdirAll(s.Home, 0o700); err != nil {
		t.Fatal(err)
	}
	// What the binary kept in the kernel keyring for the store goes with
	// it: the user keyring's quota is small for a user other than root.
	t.Cleanup(func() {
		keyctl.ForStore(Name, "identity", s.StoreDir).Drop()
		keyctl.ForStore(Name, "file-key", s.StoreDir).Drop()
	})
	s.Vars = []string{
		"HOME=" + s.Home,
		"USERPROFILE=" + s.Home,
		"AppData=" + filepath.Join(s.Home, "AppData"),
		"LocalAppData=" + filepath.Join(s.Home, "LocalAppData"),
		"XDG_CONFIG_HOME=" + filepath.Join(s.Home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(s.Home, ".cache"),
		"XDG_RUNTIME_DIR=" + filepath.Join(root, "run"),
		"DOCKER_CONFIG=" + filepath.Join(s.Home, ".docker"),
		"DOCKER_CREDENTIAL_NOTATION_STORE_DIR=" + s.StoreDir,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(root, "no-session-bus"),
	}
	return s
}

// StoreFile is the path of the encrypted store file.
func (s *Sandbox) StoreFile() string { return filepath.Join(s.StoreDir, "store.age") }

// Env is the environment to run the binary with: [Environ], the
// sandbox's Vars, then extra (name=value; a later one wins).
func (s *Sandbox) Env(extra ...string) []string {
	env := append(Environ(), s.Vars...)
	return append(env, extra...)
}

// Setenv sets the sandbox's Vars in the test's own environment, with
// t.Setenv, for client libraries that run the binary with it. The test's
// TestMain must have unset what [Steers] names.
func (s *Sandbox) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Vars {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
}

// Result is what one run of the binary produced.
type Result struct {
	Stdout, Stderr string
	// Code is the exit status.
	Code int
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
}

// Crashed reports whether stderr holds a Go panic or a goroutine dump:
// every failure of the binary must be a message, never a crash.
func (r Result) Crashed() bool {
	return strings.Contains(r.Stderr, "goroutine ") || strings.Contains(r.Stderr, "panic:")
}

// Run runs cmd (its Stdin, Env and Dir as the caller set them) to the
// end, collecting stdout and stderr. An exit status other than 0 is in
// the Result; the error says that cmd could not be started or did not
// exit by itself (a signal).
func Run(cmd *exec.Cmd) (Result, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		r.Code = exitErr.ExitCode()
	default:
		r.Code = -1
		return r, err
	}
	return r, nil
}
