// Command gendocs writes the documentation that is generated from the command
// line's definition (internal/cli): the command reference, the man page and
// the bash, zsh and fish completions. `make docs` runs it:
//
//	go run ./internal/cmd/gendocs -o docs
//
// It is a program of its own, not a command of the helper, so that the
// shipped binary carries none of it. Its own renderers (no urfave/cli docs
// code) keep the output the same whatever build tags are set. The test in
// this package regenerates everything in memory and fails when a committed
// file differs.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// The generated files, relative to the output directory; packaging/ installs
// the man page and the completions from these paths.
const (
	commandsFile  = "commands.md"
	manFile       = "man/docker-credential-notation.1"
	bashFile      = "completion/docker-credential-notation.bash"
	zshFile       = "completion/_docker-credential-notation"
	fishFile      = "completion/docker-credential-notation.fish"
	defaultOutDir = "docs"
)

// generate renders every file, keyed by its path under the output directory.
func generate() map[string][]byte {
	p := newProgram()
	files := map[string][]byte{
		commandsFile: markdown(p),
		manFile:      man(p),
		bashFile:     bash(p),
		zshFile:      zsh(p),
		fishFile:     fish(p),
	}
	for name, b := range files {
		files[name] = append(bytes.TrimRight(b, "\n"), '\n')
	}
	return files
}

func main() {
	out := flag.String("o", defaultOutDir, "the directory to write into")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "gendocs: unexpected argument %q\nusage: go run ./internal/cmd/gendocs [-o DIR]\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := write(*out, generate()); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: error: %v\n", err)
		os.Exit(1)
	}
}

// write writes the files under dir, skipping those already up to date so that
// their times do not change.
func write(dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("failed to create the directory of %s: %w", path, err)
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, files[name], 0o644); err != nil {
			return fmt.Errorf("failed to write %s: %w", tmp, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("failed to replace %s: %w", path, err)
		}
		fmt.Println("gendocs: wrote", path)
	}
	return nil
}
