// Package cli is the command line of docker-credential-notation: the
// protocol actions that clients invoke (store, get, erase, list, version) and
// the subcommands people type.
//
// The process boundary follows docker-credential-helpers: a protocol error is
// written to stdout (where docker and oras-go read it) with exit status 1;
// hints and debug output go to stderr, which clients pass to the user's
// terminal; prompts open the terminal itself, since stdin is the payload.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/config"
	"github.com/notaryproject/docker-credential-notation/internal/registryauth"
)

// Name is the program's name, as clients call it.
const Name = helper.ProgramName

// Env is what a run sees of its process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads the environment; os.Getenv outside tests.
	Getenv func(string) string
	// Version is the program's version, Package its module path.
	Version, Package string
	// OpenStore builds the configured store. The composition root (main)
	// supplies it, so this package depends on no backend.
	OpenStore func(ctx context.Context, cfg *config.Config, env *Env) (*Opened, error)
	// OpenBackend builds one backend by name (config.BackendFile or
	// config.BackendKeychain), whatever the configuration selects; migrate
	// uses it.
	OpenBackend func(ctx context.Context, cfg *config.Config, env *Env, name string) (helper.Store, error)
	// Prompt asks for a secret on the terminal; nil means no terminal.
	Prompt func(prompt string) (string, error)
	// WithSubjectToken hands a workload's subject token (the pod's
	// service-account token in kubelet's request) to the store's token
	// exchange through the context; nil means none can be handed in.
	WithSubjectToken func(ctx context.Context, token string) context.Context
}

// Opened is the store that Env.OpenStore composes, with what the commands
// besides the protocol need to know of it. The composition root fills it
// once, from the concrete types it built: no capability is found by type
// assertion through the wrappers, so a new wrapper cannot lose one.
type Opened struct {
	// Store answers the protocol.
	Store helper.Store
	// Description says where the credentials are kept and why (config,
	// doctor, the debug trace).
	Description string
	// KeySource says what key encrypts the store and where it comes from.
	KeySource func() (source, origin string, err error)
	// Exchange is the token exchange in the stack; nil when there is none.
	Exchange Exchange
	// HasPrefix reports whether a stored key starts with prefix; nil means
	// Store.List answers it.
	HasPrefix func(ctx context.Context, prefix string) (bool, error)
	// RegistryTokens keeps, encrypted in the store, the tokens that token
	// and check obtained from registries' token services; nil keeps none.
	RegistryTokens registryauth.Vault
	// Keys protects, unlocks and locks the store's key; nil when the
	// backend has no key of its own to protect (the keychain).
	Keys KeyProtection
}

// Exchange is what the token exchange (tokenexchange.Store, composed by
// main) offers besides the protocol.
type Exchange interface {
	// DeviceLogin runs the OAuth2 device authorization grant for a
	// configured registry, calling show once with what the user must open
	// and type, and stores the refresh token.
	DeviceLogin(ctx context.Context, key helper.Key, serverURL string, show func(verificationURI, verificationURIComplete, userCode string, expiry time.Time)) error
	// ImportRefreshToken checks a refresh token with the provider and
	// stores it.
	ImportRefreshToken(ctx context.Context, key helper.Key, serverURL, refreshToken string) error
	// GetExpiring is Get, with the time until which the answer may be kept
	// (zero: no limit is known).
	GetExpiring(ctx context.Context, key helper.Key) (helper.Credentials, time.Time, error)
}

// getExpiring answers through the token exchange when there is one.
func (o *Opened) getExpiring(ctx context.Context, key helper.Key) (helper.Credentials, time.Time, error) {
	if o.Exchange != nil {
		return o.Exchange.GetExpiring(ctx, key)
	}
	c, err := o.Store.Get(ctx, key)
	return c, time.Time{}, err
}

// hasPrefix reports whether a stored key starts with prefix.
func (o *Opened) hasPrefix(ctx context.Context, prefix string) (bool, error) {
	if o.HasPrefix != nil {
		return o.HasPrefix(ctx, prefix)
	}
	all, err := o.Store.List(ctx)
	if err != nil {
		return false, err
	}
	for u := range all {
		if k, err := helper.ParseServerURL(u); err == nil && strings.HasPrefix(k.String(), prefix) {
			return true, nil
		}
	}
	return false, nil
}

// protocolError is a failure of a protocol action: its message goes to
// stdout, where clients read it.
type protocolError struct{ err error }

func (e *protocolError) Error() string { return e.err.Error() }
func (e *protocolError) Unwrap() error { return e.err }

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Run runs the program with args (args[0] is the program name) and returns
// its exit status.
//
// The protocol actions, as clients call them (the action alone, the payload
// on stdin), take a direct path to helper.Handle: a client runs the helper
// on every login, push and pull, and building the command-line app would
// cost it time for nothing. So does kubelet-provider, which kubelet starts
// for image pulls. Anything else goes through the app, which gives the same
// answers for the same actions.
func Run(ctx context.Context, args []string, env *Env) int {
	var err error
	if action, ok := protocolAction(args); ok {
		err = runProtocol(ctx, env, action)
	} else if len(args) == 2 && args[1] == kubeletProviderName {
		err = runKubeletProvider(ctx, env)
	} else {
		err = newApp(env).RunContext(ctx, args)
	}
	if err == nil {
		return 0
	}
	var perr *protocolError
	var uerr *usageError
	switch {
	case errors.As(err, &perr):
		fmt.Fprintln(env.Stdout, helper.WireMessage(perr.err))
	case errors.As(err, &uerr):
		// Like the reference, a wrong action is reported on stdout.
		fmt.Fprintln(env.Stdout, Name+": "+uerr.msg)
		fmt.Fprintf(env.Stderr, "%s: hint: run '%s --help' for the list of commands\n", Name, Name)
		return 1
	default:
		fmt.Fprintf(env.Stderr, "%s: error: %v\n", Name, err)
	}
	if h := helper.Hint(err); h != "" {
		fmt.Fprintf(env.Stderr, "%s: hint: %s\n", Name, h)
	}
	return 1
}

func newApp(env *Env) *ucli.App {
	app := &ucli.App{
		Name:            Name,
		Usage:           "keep registry credentials encrypted, for docker, notation, oras, crane and regctl",
		UsageText:       Name + " <store|get|erase|list|version>\n" + Name + " <command> [options]",
		HideVersion:     true,
		HideHelpCommand: false,
		Reader:          env.Stdin,
		Writer:          env.Stdout,
		ErrWriter:       env.Stderr,
		ExitErrHandler:  func(*ucli.Context, error) {},
		OnUsageError: func(_ *ucli.Context, err error, _ bool) error {
			return &usageError{msg: err.Error()}
		},
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version"},
		},
		Action: func(c *ucli.Context) error {
			if c.Bool("version") {
				return printVersion(env)
			}
			if c.NArg() == 0 {
				// The reference prints its usage and fails when called
				// without an action.
				return &usageError{msg: "no action given; usage: " + Name + " <store|get|erase|list|version>"}
			}
			return &usageError{msg: "unknown action: " + c.Args().First()}
		},
		Commands: []*ucli.Command{
			protocolCommand(env, helper.ActionStore, "store the credential read as JSON from stdin"),
			protocolCommand(env, helper.ActionGet, "print the credential for the server URL read from stdin"),
			protocolCommand(env, helper.ActionErase, "erase the credential for the server URL read from stdin"),
			protocolCommand(env, helper.ActionList, "print every stored server URL and its username"),
			{
				Name:     helper.ActionVersion,
				Usage:    "print the version",
				Category: "protocol",
				Action: func(c *ucli.Context) error {
					if err := noArgs(c); err != nil {
						return err
					}
					return printVersion(env)
				},
			},
			configCommand(env),
			migrateCommand(env),
			loginCommand(env),
			logoutCommand(env),
			tokenCommand(env),
			checkCommand(env),
			configureCommand(env),
			importCommand(env),
			doctorCommand(env),
			kubeletProviderCommand(env),
			exportCommand(env),
			protectCommand(env),
			unlockCommand(env),
			lockCommand(env),
		},
	}
	return app
}

func printVersion(env *Env) error {
	_, err := fmt.Fprintf(env.Stdout, "%s (%s) %s\n", Name, env.Package, env.Version)
	return err
}

func noArgs(c *ucli.Context) error {
	if c.NArg() > 0 {
		return &protocolError{err: fmt.Errorf("unexpected argument %q: %s %s takes its input on stdin", c.Args().First(), Name, c.Command.Name)}
	}
	return nil
}

func protocolCommand(env *Env, action, usage string) *ucli.Command {
	return &ucli.Command{
		Name:     action,
		Usage:    usage,
		Category: "protocol",
		Action: func(c *ucli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return runProtocol(c.Context, env, action)
		},
	}
}

// protocolAction reports whether args is a bare protocol action, as clients
// call the helper: one of store, get, erase, list or version and nothing
// else.
func protocolAction(args []string) (string, bool) {
	if len(args) != 2 || !helper.IsAction(args[1]) {
		return "", false
	}
	return args[1], true
}

// runProtocol answers one protocol action on the configured store.
func runProtocol(ctx context.Context, env *Env, action string) error {
	if action == helper.ActionVersion {
		return printVersion(env)
	}
	store, _, err := open(ctx, env)
	if err != nil {
		return &protocolError{err: err}
	}
	if err := helper.Handle(ctx, store.Store, action, env.Stdin, env.Stdout); err != nil {
		return &protocolError{err: err}
	}
	return nil
}

// open loads the configuration and opens the configured store, traced when
// debugging is on.
func open(ctx context.Context, env *Env) (*Opened, *config.Config, error) {
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return nil, nil, helper.WithHint(err, "run '"+Name+" config' to see the effective configuration")
	}
	store, err := env.OpenStore(ctx, cfg, env)
	if err != nil {
		return nil, cfg, err
	}
	if cfg.Debug {
		fmt.Fprintf(env.Stderr, "%s: debug: backend %s, %s\n", Name, cfg.Backend, store.Description)
		traced := *store
		traced.Store = helper.Traced(store.Store, env.Stderr)
		store = &traced
	}
	return store, cfg, nil
}

// registryEntrySetting says which "registries" entry applies to host.
func registryEntrySetting(cfg *config.Config, host string) (config.Setting, error) {
	k, err := helper.ParseServerURL(host)
	if err != nil {
		return config.Setting{}, fmt.Errorf("invalid --registry: %v", err)
	}
	exact := func(e string) (string, bool) {
		ek, err := helper.ParseServerURL(e)
		return ek.String(), err == nil
	}
	s := config.Setting{Name: "registry " + k.String(), Value: "no entry: credentials are stored and returned as they are", Source: "config file"}
	if entry, ok := cfg.RegistryEntry(k.String(), exact); ok {
		how := "exact entry"
		if strings.Contains(entry, "*") {
			how = "pattern"
		}
		kind := "refresh-token exchange (login)"
		if r := cfg.Registries[entry]; r.SubjectToken != nil {
			kind = "workload exchange of the subject token from " + r.SubjectToken.Describe()
		}
		s.Value = fmt.Sprintf("%s %q: %s", how, entry, kind)
	}
	return s, nil
}

func configCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:  "config",
		Usage: "print the effective configuration and where each value comes from (never a secret)",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "json", Usage: "print JSON"},
			&ucli.StringFlag{Name: "registry", Usage: "also say which \"registries\" entry of the config file applies to `HOST` (exact, or the pattern that matched)"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q", c.Args().First())
			}
			cfg, err := config.Load(env.Getenv)
			if err != nil {
				return err
			}
			settings := cfg.Settings()
			if host := c.String("registry"); host != "" {
				s, err := registryEntrySetting(cfg, host)
				if err != nil {
					return err
				}
				settings = append(settings, s)
			}
			store, err := env.OpenStore(c.Context, cfg, env)
			if err != nil {
				return err
			}
			settings = append(settings, config.Setting{Name: "store", Value: store.Description, Source: "backend " + cfg.Backend})
			if store.KeySource != nil {
				src, origin, err := store.KeySource()
				v := src + " (" + origin + ")"
				if err != nil {
					v = "error: " + err.Error()
				}
				settings = append(settings, config.Setting{Name: "key", Value: v, Source: "keySource " + cfg.KeySource})
			}
			if store.Keys != nil {
				p, _ := store.Keys.Protection()
				settings = append(settings, config.Setting{Name: "protection", Value: p, Source: "the key's files and the kernel keyring"})
			}
			if c.Bool("json") {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(settings)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SETTING\tVALUE\tSOURCE\tVARIABLE")
			for _, s := range settings {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Value, s.Source, strings.TrimSpace(s.Env))
			}
			return tw.Flush()
		},
	}
}
