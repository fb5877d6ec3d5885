// Package helperbin builds docker-credential-notation for the test suites
// that run the real binary (tests, tests/reliability, tests/registry,
// tests/e2e), the way the Makefile builds it, so each suite tests the
// binary users get, and runs it in a [Sandbox]: an environment of its own
// from which nothing of the developer's can steer it.
//
// A suite's TestMain builds the binary once with [BuildTemp]; each test
// makes a [NewSandbox] and runs the binary with [Run], with cmd.Env set to
// the sandbox's [Sandbox.Env] (or, for client libraries that run the
// binary with the test's own environment, after [Sandbox.Setenv]). Only
// tests import this package.
package helperbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Name is the program's name, as clients call it.
const Name = "docker-credential-notation"

// Tags are the Makefile's build tags (TAGS).
const Tags = "urfave_cli_no_docs"

// ExeSuffix is ".exe" on Windows and "" elsewhere.
func ExeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// ModuleRoot finds the directory of the module's go.mod, walking up from
// the working directory (a test package's directory under `go test`).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test directory")
		}
		dir = parent
	}
}

// Build builds the program from the module root into out, stamped with
// version, as `make build` does: static (CGO_ENABLED=0), -trimpath and the
// Makefile's tags.
func Build(ctx context.Context, out, version string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", Tags,
		"-ldflags", "-X main.version="+version, "-o", out, ".")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("failed to build %s: %v\n%s", Name, err, b)
	}
	return nil
}

// BuildTemp builds the program as [Build] does into a new temporary
// directory (pattern as for os.MkdirTemp), for a suite's TestMain, and
// returns its path; remove deletes the directory.
func BuildTemp(pattern, version string) (bin string, remove func(), err error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, Name+ExeSuffix())
	if err := Build(context.Background(), bin, version); err != nil {
		remove()
		return "", nil, err
	}
	return bin, remove, nil
}
