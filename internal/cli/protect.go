package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/config"
)

// KeyProtection is what a store whose key can be protected offers (the file
// store's generated identity; main fills Opened.Keys).
type KeyProtection interface {
	// Protect wraps the key with passphrase and removes the plaintext.
	Protect(ctx context.Context, passphrase string) error
	// ProtectKeychain moves the key into the OS keychain and removes the
	// plaintext.
	ProtectKeychain(ctx context.Context) error
	// Unprotect writes the key back in the clear; passphrase, if not
	// empty, unlocks it (otherwise the cache or the prompt does).
	Unprotect(ctx context.Context, passphrase string) error
	// Unlock keeps the key unlocked for ttl and returns until when.
	Unlock(ctx context.Context, passphrase string, ttl time.Duration) (time.Time, error)
	// Lock forgets the unlocked key and reports whether it was unlocked.
	Lock() (bool, error)
	// Protection says in one line how well the key is protected, and
	// whether it lies unprotected beside the store.
	Protection() (line string, beside bool)
}

// maxPassphrase bounds a passphrase read from stdin.
const maxPassphrase = 4096

// isLocked reports whether err says the store is locked (rather than
// broken).
func isLocked(err error) bool {
	var l interface{ Locked() bool }
	return errors.As(err, &l) && l.Locked()
}

// keyProtection opens the configured store and returns its key protection.
func keyProtection(ctx context.Context, env *Env, command string) (KeyProtection, *config.Config, error) {
	store, cfg, err := open(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	if store.Keys == nil {
		return nil, nil, helper.WithHint(fmt.Errorf("%s applies to the file store's own key: %s", command, store.Description),
			"a keychain protects its items itself")
	}
	return store.Keys, cfg, nil
}

// readPassphraseStdin reads a passphrase from the first line of stdin.
func readPassphraseStdin(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPassphrase+1))
	if err != nil {
		return "", fmt.Errorf("failed to read the passphrase from stdin: %v", err)
	}
	if len(b) > maxPassphrase {
		return "", fmt.Errorf("failed to read the passphrase from stdin: longer than %d bytes", maxPassphrase)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return "", errors.New("failed to read the passphrase from stdin: it is empty")
	}
	return string(line), nil
}

// newPassphrase asks for a new passphrase on the terminal, twice.
func newPassphrase(env *Env) (string, error) {
	if env.Prompt == nil {
		return "", helper.WithHint(errors.New("failed to read a new passphrase: no terminal"),
			"give it on stdin with --passphrase-stdin")
	}
	p1, err := env.Prompt("New passphrase for the store's key: ")
	if err != nil {
		return "", fmt.Errorf("failed to read the passphrase: %v", err)
	}
	if p1 == "" {
		return "", errors.New("failed to read the passphrase: it is empty")
	}
	p2, err := env.Prompt("The same passphrase again: ")
	if err != nil {
		return "", fmt.Errorf("failed to read the passphrase: %v", err)
	}
	if p1 != p2 {
		return "", errors.New("failed to read the passphrase: the two do not match; nothing was changed")
	}
	return p1, nil
}

func protectCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:  "protect",
		Usage: "encrypt the store's generated key with a passphrase (identity.age, which `age -d` opens) and remove the plaintext identity.txt; --undo goes back",
		UsageText: Name + " protect --passphrase | --passphrase-stdin | --keychain\n" +
			Name + " protect --undo [--passphrase-stdin]",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "passphrase", Usage: "ask for the new passphrase on the terminal, twice"},
			&ucli.BoolFlag{Name: "passphrase-stdin", Usage: "read the passphrase from the first line of stdin (with --undo: the current one)"},
			&ucli.BoolFlag{Name: "keychain", Usage: "move the key into the OS keychain (Secret Service, macOS Keychain, Windows Credential Manager); the store stays a file"},
			&ucli.BoolFlag{Name: "undo", Usage: "write the key back in the clear beside the store (identity.txt) and remove identity.age or the keychain item"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q", c.Args().First())
			}
			undo, tty, stdin, keychain := c.Bool("undo"), c.Bool("passphrase"), c.Bool("passphrase-stdin"), c.Bool("keychain")
			switch {
			case tty && stdin:
				return errors.New("--passphrase and --passphrase-stdin exclude each other")
			case keychain && (tty || stdin || undo):
				return errors.New("--keychain takes no passphrase and excludes --undo")
			case undo && tty:
				return errors.New("--undo asks for the current passphrase itself; give it on stdin with --passphrase-stdin, or leave both out")
			case !undo && !tty && !stdin && !keychain:
				return helper.WithHint(errors.New("protect needs --passphrase, --passphrase-stdin, --keychain or --undo"),
					"run '"+Name+" protect --passphrase' to choose a passphrase on the terminal")
			}
			var pass string
			var err error
			if stdin {
				if pass, err = readPassphraseStdin(env.Stdin); err != nil {
					return err
				}
			}
			keys, _, err := keyProtection(c.Context, env, "protect")
			if err != nil {
				return err
			}
			if undo {
				err := keys.Unprotect(c.Context, pass)
				if isNotProtected(err) {
					fmt.Fprintln(env.Stdout, "the store's key is not protected: nothing to undo")
					return nil
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(env.Stderr, "%s: warning: the key is now in the clear beside the store (identity.txt): anyone who can read the directory, or a backup of it, can read every credential\n", Name)
				line, _ := keys.Protection()
				fmt.Fprintln(env.Stdout, "the store's key is no longer protected: "+line)
				return nil
			}
			if keychain {
				if err := keys.ProtectKeychain(c.Context); err != nil {
					return err
				}
				line, _ := keys.Protection()
				fmt.Fprintf(env.Stdout, "the store's key is in the OS keychain (%s); the store stays a file\n", line)
				return nil
			}
			if tty {
				if pass, err = newPassphrase(env); err != nil {
					return err
				}
			}
			if err := keys.Protect(c.Context, pass); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "the store's key is protected with your passphrase; run '%s unlock' once per session to use the store\n", Name)
			return nil
		},
	}
}

// isNotProtected reports whether err says the key is not protected.
func isNotProtected(err error) bool {
	var n interface{ NotProtected() bool }
	return errors.As(err, &n) && n.NotProtected()
}

func unlockCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:      "unlock",
		Usage:     "decrypt the protected key once and keep it in the kernel keyring (Linux) so that get, store, list and erase need no passphrase",
		UsageText: Name + " unlock [--for DURATION] [--passphrase-stdin]",
		Flags: []ucli.Flag{
			&ucli.DurationFlag{Name: "for", Usage: "how long the kernel keeps the key (`DURATION`, e.g. 30m; default: the unlockFor setting, 8h unless set)"},
			&ucli.BoolFlag{Name: "passphrase-stdin", Usage: "read the passphrase from the first line of stdin instead of the terminal"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q", c.Args().First())
			}
			d := c.Duration("for")
			if c.IsSet("for") && d <= 0 {
				return fmt.Errorf("invalid --for %v: it must be positive", d)
			}
			var pass string
			if c.Bool("passphrase-stdin") {
				var err error
				if pass, err = readPassphraseStdin(env.Stdin); err != nil {
					return err
				}
			}
			keys, cfg, err := keyProtection(c.Context, env, "unlock")
			if err != nil {
				return err
			}
			if !c.IsSet("for") {
				d = cfg.UnlockFor
			}
			until, err := keys.Unlock(c.Context, pass, d)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "unlocked until %s (%v)\n", until.Local().Format("2006-01-02 15:04:05"), d)
			return nil
		},
	}
}

func lockCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:  "lock",
		Usage: "forget the unlocked key: the next command asks for the passphrase again",
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q", c.Args().First())
			}
			keys, _, err := keyProtection(c.Context, env, "lock")
			if err != nil {
				return err
			}
			was, err := keys.Lock()
			if err != nil {
				return err
			}
			if was {
				fmt.Fprintln(env.Stdout, "locked")
			} else {
				fmt.Fprintln(env.Stdout, "locked (it was not unlocked)")
			}
			return nil
		},
	}
}
