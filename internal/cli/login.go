package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/config"
	"github.com/notaryproject/docker-credential-notation/internal/filelock"
)

// countdownEvery is how often the countdown prints a line when stderr is
// not a terminal (on a terminal it rewrites one line every second).
var countdownEvery = 10 * time.Second

// maxSecretInput bounds a password or refresh token read from stdin, as the
// protocol bounds its payload.
const maxSecretInput = helper.MaxPayload

// exchangeFlags are the login options that set a registry's token-exchange
// settings.
var exchangeFlags = []string{"issuer", "token-url", "device-auth-url", "client-id", "client-secret-env", "scope", "token-username", "insecure", "timeout"}

func loginCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:  "login",
		Usage: "log in to a registry: the OAuth2 device flow for a registry configured for token exchange, or a password or refresh token read from stdin",
		UsageText: Name + " login [--issuer URL | --token-url URL] [--client-id ID] [--scope SCOPE]... <registry>\n" +
			Name + " login --username NAME --password-stdin <registry>\n" +
			Name + " login --refresh-token-stdin [exchange options] <registry>",
		Description: "Without --password-stdin or --refresh-token-stdin, login runs the OAuth2 device authorization\n" +
			"grant (RFC 8628) against the registry's provider: it shows a URL and a code on stderr, waits\n" +
			"while you approve the request in a browser (on any device), and stores the refresh token.\n" +
			"From then on, get hands clients short-lived access tokens; the refresh token stays in the\n" +
			"store. Exchange options given here are saved in the config file once the login succeeds.\n" +
			"Options go before the registry. Secrets are read only from stdin or the terminal.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "issuer", Usage: "the OpenID issuer URL; its discovery document gives the endpoints"},
			&ucli.StringFlag{Name: "token-url", Usage: "the OAuth2 token endpoint (instead of the issuer's)"},
			&ucli.StringFlag{Name: "device-auth-url", Usage: "the device authorization endpoint (instead of the issuer's)"},
			&ucli.StringFlag{Name: "client-id", Usage: "the OAuth2 client id"},
			&ucli.StringFlag{Name: "client-secret-env", Usage: "the environment variable that holds the client secret of a confidential client"},
			&ucli.StringSliceFlag{Name: "scope", Usage: "a scope to request; repeatable (default: openid and offline_access with an issuer)"},
			&ucli.StringFlag{Name: "token-username", Usage: "the username get returns with access tokens (default oauth2accesstoken; GitLab uses oauth2)"},
			&ucli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP to a provider that is not on a loopback address (certificates are always checked)"},
			&ucli.DurationFlag{Name: "timeout", Usage: "bound each request to the provider", Value: 5 * time.Second},
			&ucli.BoolFlag{Name: "no-save", Usage: "do not save the exchange options in the config file"},
			&ucli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "the username for a password (with --password-stdin, or asked on the terminal)"},
			&ucli.BoolFlag{Name: "password-stdin", Usage: "read a password from stdin and store it with --username"},
			&ucli.BoolFlag{Name: "refresh-token-stdin", Usage: "read a refresh token from stdin and store it (checked with the provider when the registry exchanges tokens)"},
		},
		Action: func(c *ucli.Context) error {
			registry, err := registryArg(c)
			if err != nil {
				return err
			}
			return login(c, env, registry)
		},
	}
}

func logoutCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:      "logout",
		Usage:     "erase a registry's credential and its cached access token; revoke a refresh token at the provider",
		UsageText: Name + " logout <registry>",
		Action: func(c *ucli.Context) error {
			registry, err := registryArg(c)
			if err != nil {
				return err
			}
			key, err := helper.ParseServerURL(registry)
			if err != nil {
				return err
			}
			store, _, err := open(c.Context, env)
			if err != nil {
				return err
			}
			switch err := store.Store.Delete(c.Context, key); {
			case errors.Is(err, helper.ErrNotFound):
				fmt.Fprintf(env.Stderr, "%s: not logged in to %s\n", Name, key)
				return nil
			case err != nil:
				return err
			}
			fmt.Fprintf(env.Stdout, "Removed the credentials for %s\n", key)
			return nil
		},
	}
}

// registryArg returns the one registry argument.
func registryArg(c *ucli.Context) (string, error) {
	switch {
	case c.NArg() == 0:
		return "", helper.WithHint(fmt.Errorf("%s: no registry given", c.Command.Name), fmt.Sprintf("usage: %s %s [options] <registry>", Name, c.Command.Name))
	case c.NArg() > 1:
		hint := fmt.Sprintf("usage: %s %s [options] <registry>", Name, c.Command.Name)
		if strings.HasPrefix(c.Args().Get(1), "-") {
			hint = "put the options before the registry"
		}
		return "", helper.WithHint(fmt.Errorf("%s: unexpected argument %q", c.Command.Name, c.Args().Get(1)), hint)
	}
	return c.Args().First(), nil
}

func login(c *ucli.Context, env *Env, registry string) error {
	ctx := c.Context
	key, err := helper.ParseServerURL(registry)
	if err != nil {
		return err
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return helper.WithHint(err, "run '"+Name+" config' to see the effective configuration")
	}
	var given []string
	for _, f := range exchangeFlags {
		if c.IsSet(f) {
			given = append(given, "--"+f)
		}
	}
	password := c.Bool("password-stdin") || c.IsSet("username")
	switch {
	case c.Bool("password-stdin") && c.Bool("refresh-token-stdin"):
		return errors.New("login: --password-stdin and --refresh-token-stdin exclude each other")
	case password && c.Bool("refresh-token-stdin"):
		return errors.New("login: --username goes with a password, not with --refresh-token-stdin")
	case password && len(given) > 0:
		return fmt.Errorf("login: %s sets token exchange, which a password does not use", strings.Join(given, ", "))
	case password:
		return loginPassword(ctx, c, env, cfg, key, registry)
	}

	// The registry's exchange settings: the config file's, with the options
	// given here on top.
	fileKey, reg, configured, err := findRegistry(cfg, key)
	if err != nil {
		return err
	}
	if len(given) > 0 {
		applyExchangeFlags(c, &reg)
		if err := reg.Check(); err != nil {
			return helper.WithHint(fmt.Errorf("login: invalid token exchange settings for %s: %v", key, err), "pass --client-id and --issuer (or --token-url)")
		}
		// In memory only until the login succeeds.
		regs := make(map[string]config.Registry, len(cfg.Registries)+1)
		for k, v := range cfg.Registries {
			if k != fileKey {
				regs[k] = v
			}
		}
		regs[key.String()] = reg
		cfg.Registries = regs
	}
	exchange := configured || len(given) > 0

	store, err := env.OpenStore(ctx, cfg, env)
	if err != nil {
		return err
	}
	tl := store.Exchange
	if exchange && tl == nil {
		return fmt.Errorf("login: the store does not exchange tokens (%s)", store.Description)
	}

	if c.Bool("refresh-token-stdin") {
		rt, err := readSecret(env.Stdin, "refresh token")
		if err != nil {
			return err
		}
		if !exchange {
			// Not configured: a plain identity token, as docker login stores
			// one, which clients trade themselves.
			if err := store.Store.Put(ctx, key, helper.Credentials{ServerURL: registry, Username: helper.IdentityTokenUsername, Secret: rt}); err != nil {
				return err
			}
			fmt.Fprintf(env.Stderr, "%s: %s is not configured for token exchange: clients receive the refresh token itself\n", Name, key)
			fmt.Fprintf(env.Stdout, "Stored the refresh token for %s\n", key)
			return nil
		}
		if err := tl.ImportRefreshToken(ctx, key, registry, rt); err != nil {
			return err
		}
	} else {
		if !exchange {
			return helper.WithHint(fmt.Errorf("login: %s is not configured for token exchange", key),
				fmt.Sprintf("pass --issuer (or --token-url) and --client-id, or use --username with --password-stdin; see '%s login --help'", Name))
		}
		show, stop := deviceCodeDisplay(env.Stderr, isTerminal(env.Stderr), key)
		err := tl.DeviceLogin(ctx, key, registry, show)
		stop()
		if err != nil {
			return err
		}
	}

	if len(given) > 0 && !c.Bool("no-save") {
		var replace []string
		if fileKey != "" && fileKey != key.String() {
			replace = append(replace, fileKey)
		}
		if err := saveRegistry(ctx, cfg.ConfigFile, key.String(), reg, replace); err != nil {
			return helper.WithHint(fmt.Errorf("logged in to %s, but %w", key, err), "the refresh token is stored; add the settings to the config file by hand, or run login again")
		}
		fmt.Fprintf(env.Stderr, "%s: saved the token exchange settings of %s in %s\n", Name, key, cfg.ConfigFile)
	}
	fmt.Fprintf(env.Stdout, "Login Succeeded\n")
	return nil
}

// loginPassword stores Basic credentials: the password from stdin with
// --password-stdin, else from the terminal.
func loginPassword(ctx context.Context, c *ucli.Context, env *Env, cfg *config.Config, key helper.Key, registry string) error {
	user := c.String("username")
	if user == "" {
		return errors.New("login: --password-stdin needs --username")
	}
	var pw string
	var err error
	if c.Bool("password-stdin") {
		pw, err = readSecret(env.Stdin, "password")
	} else {
		if env.Prompt == nil {
			return helper.WithHint(errors.New("login: no terminal to ask for the password"), "pipe it in with --password-stdin")
		}
		pw, err = env.Prompt(fmt.Sprintf("Password for %s at %s: ", user, key))
		if err == nil && pw == "" {
			err = errors.New("login: empty password")
		}
	}
	if err != nil {
		return err
	}
	store, err := env.OpenStore(ctx, cfg, env)
	if err != nil {
		return err
	}
	if err := store.Store.Put(ctx, key, helper.Credentials{ServerURL: registry, Username: user, Secret: pw}); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Stored the credentials for %s\n", key)
	return nil
}

// readSecret reads a secret from stdin: all of it, at most maxSecretInput
// bytes, without the line ending a shell or echo adds.
func readSecret(r io.Reader, what string) (string, error) {
	if r == nil {
		return "", fmt.Errorf("login: no %s on stdin", what)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretInput+1))
	if err != nil {
		return "", fmt.Errorf("login: failed to read the %s from stdin: %v", what, err)
	}
	if len(b) > maxSecretInput {
		return "", fmt.Errorf("login: the %s on stdin is larger than %d bytes", what, maxSecretInput)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("login: empty %s on stdin", what)
	}
	if what == "refresh token" {
		s = strings.TrimSpace(s)
	}
	return s, nil
}

// findRegistry returns the config file's settings for key, which may be
// written in any spelling, and the spelling used.
func findRegistry(cfg *config.Config, key helper.Key) (fileKey string, reg config.Registry, ok bool, err error) {
	for k, r := range cfg.Registries {
		kk, err := helper.ParseServerURL(k)
		if err != nil {
			return "", reg, false, fmt.Errorf("invalid \"registries\" entry in %s: %v", cfg.ConfigFile, err)
		}
		if kk == key {
			return k, r, true, nil
		}
	}
	return "", reg, false, nil
}

func applyExchangeFlags(c *ucli.Context, r *config.Registry) {
	set := func(flag string, dst *string) {
		if c.IsSet(flag) {
			*dst = c.String(flag)
		}
	}
	set("issuer", &r.Issuer)
	set("token-url", &r.TokenURL)
	set("device-auth-url", &r.DeviceAuthURL)
	set("client-id", &r.ClientID)
	set("client-secret-env", &r.ClientSecretEnv)
	set("token-username", &r.Username)
	if c.IsSet("scope") {
		r.Scopes = nil
		for _, s := range c.StringSlice("scope") {
			r.Scopes = append(r.Scopes, strings.Fields(strings.ReplaceAll(s, ",", " "))...)
		}
	}
	if c.IsSet("insecure") {
		r.Insecure = c.Bool("insecure")
	}
	if c.IsSet("timeout") {
		r.Timeout = c.Duration("timeout").String()
	}
}

// saveRegistry writes the settings to the config file under a lock beside
// it, so that two logins do not lose each other's settings.
func saveRegistry(ctx context.Context, path, name string, r config.Registry, replace []string) error {
	if path == "" {
		return fmt.Errorf("there is no config file to save the settings in (set %s)", config.EnvConfig)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("failed to create %s: %v", filepath.Dir(path), err)
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	l, err := filelock.Acquire(lctx, path+".lock")
	if err != nil {
		return err
	}
	defer l.Unlock()
	return config.SaveRegistry(path, name, r, replace...)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// deviceCodeDisplay returns the show function for DeviceLogin, which prints
// where to go and what to type and starts a countdown to the code's expiry
// on w, and stop, which ends the countdown. On a terminal the countdown
// rewrites one line every second; elsewhere (a log, CI) it prints a line
// every countdownEvery.
func deviceCodeDisplay(w io.Writer, tty bool, key helper.Key) (show func(uri, complete, code string, expiry time.Time), stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	show = func(uri, complete, code string, expiry time.Time) {
		fmt.Fprintf(w, "To log in to %s, open this URL in a browser on any device:\n\n    %s\n\nand enter the code:\n\n    %s\n\n", key, uri, code)
		if complete != "" && complete != uri {
			fmt.Fprintf(w, "(or open %s, which has the code filled in)\n\n", complete)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			countdown(w, tty, expiry, done)
		}()
	}
	stop = func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
	return show, stop
}

func countdown(w io.Writer, tty bool, expiry time.Time, done <-chan struct{}) {
	every := countdownEvery
	if tty {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		left := time.Until(expiry).Truncate(time.Second)
		switch {
		case left <= 0 && tty:
			fmt.Fprint(w, "\r\033[Kthe code has expired\n")
			return
		case left <= 0:
			fmt.Fprintln(w, "the code has expired")
			return
		case tty:
			fmt.Fprintf(w, "\r\033[Kwaiting for approval: %d:%02d left", int(left.Minutes()), int(left.Seconds())%60)
		default:
			fmt.Fprintf(w, "waiting for approval: %v left\n", left)
		}
		select {
		case <-done:
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
			return
		case <-t.C:
		}
	}
}
