package cli

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"filippo.io/age/plugin"
	"golang.org/x/term"

	"github.com/notaryproject/docker-credential-notation/internal/scrub"
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

// PluginUI lets age plugins (age-plugin-yubikey and others) talk to the
// user: messages go to stderr, questions to the terminal.
func PluginUI(stderr io.Writer, prompt func(string) (string, error)) *plugin.ClientUI {
	ask := func(name, q string) (string, error) {
		if prompt == nil {
			return "", fmt.Errorf("age-plugin-%s needs input (%s) and no terminal is available", scrub.Clean(name, 64), scrub.Clean(q, 1024))
		}
		return prompt(fmt.Sprintf("age-plugin-%s: %s ", scrub.Clean(name, 64), scrub.Clean(q, 1024)))
	}
	return &plugin.ClientUI{
		DisplayMessage: func(name, message string) error {
			// The plugin's words reach the terminal: no escape sequence or
			// control character of its choosing does.
			_, err := fmt.Fprintf(stderr, "%s: age-plugin-%s: %s\n", Name, scrub.Clean(name, 64), scrub.Clean(message, 1024))
			return err
		},
		RequestValue: func(name, q string, _ bool) (string, error) {
			return ask(name, q)
		},
		Confirm: func(name, q, yes, no string) (bool, error) {
			choices := yes
			if no != "" {
				choices += "/" + no
			}
			a, err := ask(name, q+" ["+choices+"]")
			if err != nil {
				return false, err
			}
			return strings.EqualFold(strings.TrimSpace(a), yes), nil
		},
		WaitTimer: func(name string) {
			fmt.Fprintf(stderr, "%s: waiting for age-plugin-%s (touch your security key?)\n", Name, name)
		},
	}
}
