package cli

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"golang.org/x/term"
)

// TerminalPrompt returns a function that asks for a secret on the
// controlling terminal, with echo off, or nil when there is no terminal.
// stdin is never used: it carries the protocol's payload.
func TerminalPrompt() func(prompt string) (string, error) {
	name := "/dev/tty"
	if runtime.GOOS == "windows" {
		name = "CONIN$"
	}
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return nil
	}
	f.Close()
	return func(prompt string) (string, error) {
		tty, err := os.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			return "", fmt.Errorf("failed to open the terminal: %v", err)
		}
		defer tty.Close()
		// The prompt goes to stderr, which clients pass to the user's
		// terminal; on Windows CONIN$ cannot be written.
		fmt.Fprint(os.Stderr, prompt)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
}
