// Command docker-credential-notation is a credential helper for docker,
// notation, oras, crane, regctl and skopeo that keeps registry credentials
// encrypted. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/notaryproject/docker-credential-notation/filestore"
	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/cli"
	"github.com/notaryproject/docker-credential-notation/internal/config"
	"github.com/notaryproject/docker-credential-notation/internal/keyctl"
	"github.com/notaryproject/docker-credential-notation/keyring"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// version is stamped at build time with -ldflags "-X main.version=…"; a
// `go install …@vX` build reports its module version instead.
var version = ""

const modulePath = "github.com/notaryproject/docker-credential-notation"

func main() {
	hardenProcess()
	ctx, stop := interruptible(context.Background(), armSignalsAfter)
	procEnv = &processEnv{kept: map[string]string{}}
	// Key material given in the environment is read from here on, and taken
	// out of the process's own environment, which children inherit.
	procEnv.withhold(config.EnvIdentity)
	procEnv.withhold(config.EnvPassphrase)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr, procEnv.getenv)
	stop()
	os.Exit(code)
}

// armSignalsAfter is how long a command runs before an interrupt or a
// SIGTERM cancels its context instead of ending the process at once.
const armSignalsAfter = 50 * time.Millisecond

// interruptible returns a context that SIGINT and SIGTERM cancel, once the
// command has run for after. Catching a signal costs every start a thread
// (os/signal's receiving loop blocks one): about 0.8 ms of a 3.65 ms get,
// side by side (BENCHMARKS.md). A get, list or kubelet answer from the store is done
// in a few milliseconds: killed before after, a command dies as it would
// from SIGKILL, which every write survives (RELIABILITY.md). A longer one
// (a login, a token request, a write waiting for the lock) is cancelled
// instead, and cleans up. After the first signal the default comes back,
// so a second one ends the process.
func interruptible(parent context.Context, after time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	var mu sync.Mutex
	var sigs chan os.Signal
	stopped := false
	arm := time.AfterFunc(after, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		sigs = make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		go func(sigs chan os.Signal) {
			select {
			case s := <-sigs:
				signal.Stop(sigs)
				cancel(fmt.Errorf("interrupted by %v", s))
			case <-ctx.Done():
			}
		}(sigs)
	})
	return ctx, func() {
		arm.Stop()
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		if sigs != nil {
			signal.Stop(sigs)
		}
		cancel(context.Canceled)
	}
}

// procEnv is the process's environment as the program reads it; nil in
// tests, which pass their own getenv to run.
var procEnv *processEnv

// processEnv reads the environment, except for the variables it withholds:
// those it read once, remembers, and removed from the process environment,
// so that the child processes the helper starts (age plugins, and other
// credential helpers during import) do not inherit the secrets they hold.
type processEnv struct {
	mu   sync.Mutex
	kept map[string]string
}

func (p *processEnv) getenv(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.kept[name]; ok {
		return v
	}
	return os.Getenv(name)
}

// withhold takes name out of the process environment, keeping its value
// for getenv.
func (p *processEnv) withhold(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.kept[name]; ok {
		return
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return
	}
	p.kept[name] = v
	os.Unsetenv(name)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return cli.Run(ctx, args, &cli.Env{
		Stdin:       stdin,
		Stdout:      stdout,
		Stderr:      stderr,
		Getenv:      getenv,
		Version:     programVersion(),
		Package:     modulePath,
		OpenStore:   openStore,
		OpenBackend: openBackend,
		Prompt:      cli.TerminalPrompt(),
		// The pod's service-account token in kubelet's request reaches the
		// token exchange of registries whose subject is
		// kubernetesServiceAccount.
		WithSubjectToken: tokenexchange.WithSubjectToken,
	})
}

// openStore is the composition root: it builds the store that the
// configuration selects. With backend auto it keeps to the backend recorded
// in the store directory, and otherwise picks the keychain if one answers
// within keyring.DefaultProbeTimeout and the encrypted file if none is there.
func openStore(ctx context.Context, cfg *config.Config, env *cli.Env) (*cli.Opened, error) {
	recorded, err := config.RecordedBackend(cfg.StoreDir)
	if err != nil {
		return nil, err
	}
	name, why := cfg.Backend, "configured"
	switch {
	case cfg.Backend == config.BackendAuto && recorded != "":
		name, why = recorded, "auto: it holds the credentials"
	case cfg.Backend == config.BackendAuto:
		if name, why, err = chooseBackend(ctx, cfg, env); err != nil {
			return nil, err
		}
	case recorded != "" && recorded != cfg.Backend:
		return nil, helper.WithHint(
			fmt.Errorf("backend %s is configured, but the credentials are in the %s backend", cfg.Backend, recorded),
			fmt.Sprintf("run '%s migrate --to %s' to move them, or set %s=auto", cli.Name, cfg.Backend, config.EnvBackend))
	}
	b, err := newBackend(cfg, env, name)
	if err != nil {
		return nil, err
	}
	if procEnv != nil {
		procEnv.withholdRegistrySecrets(cfg)
	}
	te, err := exchanging(cfg, env, &recording{Store: b.Store, dir: cfg.StoreDir, name: name, recorded: recorded == name})
	if err != nil {
		return nil, err
	}
	b.Store, b.Exchange, b.RegistryTokens = te, te, te
	b.Description += " (" + why + ")"
	if regs := te.Registries(); len(regs) > 0 {
		b.Description += "; token exchange for " + strings.Join(regs, ", ")
	}
	return b, nil
}

// exchanging wraps s so that the registries configured for token exchange
// get access tokens for their stored refresh tokens; the others pass
// through. A client secret comes from the environment variable its settings
// name.
func exchanging(cfg *config.Config, env *cli.Env, s helper.Store) (*tokenexchange.Store, error) {
	regs := make(map[string]tokenexchange.Registry, len(cfg.Registries))
	for u, r := range cfg.Registries {
		tr := tokenexchange.Registry{
			Issuer:          r.Issuer,
			TokenURL:        r.TokenURL,
			DeviceAuthURL:   r.DeviceAuthURL,
			ClientID:        r.ClientID,
			ClientSecret:    getenvIf(env.Getenv, r.ClientSecretEnv),
			ClientSecretEnv: r.ClientSecretEnv,
			Scopes:          r.Scopes,
			Username:        r.Username,
			Insecure:        r.Insecure,
			Timeout:         r.TimeoutDuration(),
		}
		if r.SubjectToken != nil {
			tr.Subject = subjectSource(r.SubjectToken, env.Getenv)
			tr.SubjectTokenType = r.SubjectTokenType
			tr.Audience, tr.Resource, tr.RequestedTokenType = r.Audience, r.Resource, r.RequestedTokenType
			tr.TokenParams = r.TokenParams
		}
		regs[u] = tr
	}
	return tokenexchange.New(s, tokenexchange.Options{Dir: cfg.StoreDir, Registries: regs, Warn: env.Stderr})
}

// GitHub Actions' variables for requesting a job's OIDC token.
const (
	envActionsRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envActionsRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// withholdRegistrySecrets withholds the secrets that the registries'
// settings name in the environment (client secrets, subject tokens, the
// Actions request token) from the helper's children, like every other
// secret.
func (p *processEnv) withholdRegistrySecrets(cfg *config.Config) {
	for _, r := range cfg.Registries {
		if r.ClientSecretEnv != "" {
			p.withhold(r.ClientSecretEnv)
		}
		switch t := r.SubjectToken; {
		case t == nil:
		case t.Env != "":
			p.withhold(t.Env)
		case t.GitHubActions != nil:
			p.withhold(envActionsRequestToken)
		}
	}
}

// subjectSource turns a workload registry's subjectToken setting into the
// source the exchange reads.
func subjectSource(t *config.SubjectToken, getenv func(string) string) tokenexchange.SubjectSource {
	switch {
	case t.File != "":
		return tokenexchange.FileSubject{Path: t.File}
	case t.Env != "":
		return tokenexchange.EnvSubject{Name: t.Env, Value: getenv(t.Env)}
	case t.GitHubActions != nil:
		return tokenexchange.GitHubActionsSubject{Audience: t.GitHubActions.Audience, RequestURL: getenv(envActionsRequestURL), RequestToken: getenv(envActionsRequestToken)}
	}
	return tokenexchange.ContextSubject{
		What: t.Describe(),
		Why:  "it comes with kubelet's image credential request, which only '" + cli.Name + " kubelet-provider' receives",
		Hint: `run the helper as kubelet's credential provider (README: Kubernetes), or give the pod's projected token file as "subjectToken": {"file": "/path"}`,
	}
}

func getenvIf(getenv func(string) string, name string) string {
	if name == "" {
		return ""
	}
	return getenv(name)
}

// chooseBackend decides for backend auto when nothing is recorded yet.
func chooseBackend(ctx context.Context, cfg *config.Config, env *cli.Env) (name, why string, err error) {
	if _, err := os.Lstat(filepath.Join(cfg.StoreDir, filestore.StoreFileName)); err == nil {
		return config.BackendFile, "auto: the encrypted file exists", nil
	}
	kc, err := openKeychain(cfg, env)
	if err != nil {
		return "", "", err
	}
	// Within keyring.DefaultProbeTimeout: a missing D-Bus must not hang a
	// pull.
	err = kc.Probe(ctx)
	switch {
	case err == nil:
		return config.BackendKeychain, "auto: a keychain answered", nil
	case errors.Is(err, keyring.ErrUnavailable):
		return config.BackendFile, "auto: no keychain is available", nil
	}
	// A keychain is there but locked or hung: guessing the file store would
	// hide the user's credentials, so say what is wrong. keyring's hints
	// already offer the file backend as the way out.
	return "", "", err
}

// openBackend builds one backend by name (migrate moves credentials
// between two).
func openBackend(_ context.Context, cfg *config.Config, env *cli.Env, name string) (helper.Store, error) {
	b, err := newBackend(cfg, env, name)
	if err != nil {
		return nil, err
	}
	return b.Store, nil
}

// newBackend builds one backend by name, with what it can say of itself.
func newBackend(cfg *config.Config, env *cli.Env, name string) (*cli.Opened, error) {
	switch name {
	case config.BackendFile:
		src, err := filestore.ParseKeySource(cfg.KeySource)
		if err != nil {
			return nil, err
		}
		fs, err := filestore.New(filestore.Options{
			Dir:          cfg.StoreDir,
			KeySource:    src,
			Identity:     cfg.Identity,
			IdentityFile: cfg.IdentityFile,
			Passphrase:   cfg.Passphrase,
			Prompt:       env.Prompt,
			PluginUI:     cli.PluginUI(env.Stderr, env.Prompt),
			// The kernel keyring keeps the unlocked identity and the file
			// key of the store as last read or written.
			Cache:     keyctl.ForStore(cli.Name, "identity", cfg.StoreDir),
			FileKeys:  keyctl.ForStore(cli.Name, "file-key", cfg.StoreDir),
			UnlockFor: cfg.UnlockFor,
			Vault:     keyVault(cfg, env),
		})
		if err != nil {
			return nil, err
		}
		// The prefix query skips the token exchange's own entries, as its
		// List does.
		hasPrefix := func(ctx context.Context, prefix string) (bool, error) {
			return fs.HasPrefix(ctx, prefix, tokenexchange.Reserved)
		}
		return &cli.Opened{Store: fs, Description: fs.Describe(), KeySource: fs.KeySource, HasPrefix: hasPrefix, Keys: fs}, nil
	case config.BackendKeychain:
		kc, err := openKeychain(cfg, env)
		if err != nil {
			return nil, err
		}
		keySource := func() (string, string, error) { return "none", "the keychain protects its items", nil }
		return &cli.Opened{Store: kc, Description: kc.Describe(), KeySource: keySource}, nil
	}
	return nil, fmt.Errorf("unknown backend %q", name)
}

// keyVault is the OS keychain item that keeps the file store's identity
// after `protect --keychain`, named after the store directory; nil when no
// keychain backend can be built. Building it touches no keychain.
func keyVault(cfg *config.Config, env *cli.Env) filestore.KeyVault {
	kc, err := openKeychain(cfg, env)
	if err != nil {
		return nil
	}
	dir := cfg.StoreDir
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return kc.Secret("identity:" + dir)
}

// openKeychain builds the keychain backend. The keychain is the user's,
// whatever store directory a process was given, so its write lock lives in
// the user's own helper directory: writers with different store
// directories still exclude each other.
func openKeychain(cfg *config.Config, env *cli.Env) (*keyring.Store, error) {
	lockDir, err := config.DefaultDir(env.Getenv)
	if err != nil {
		lockDir = cfg.StoreDir
	}
	return keyring.New(keyring.Options{Dir: lockDir})
}

// recording records the backend in the store directory after the first
// successful store, so that backend auto sticks to it from then on.
type recording struct {
	helper.Store
	dir, name string
	recorded  bool
}

func (r *recording) Put(ctx context.Context, key helper.Key, c helper.Credentials) error {
	if err := r.Store.Put(ctx, key, c); err != nil {
		return err
	}
	if !r.recorded {
		if err := config.RecordBackend(r.dir, r.name); err != nil {
			return err
		}
		r.recorded = true
	}
	return nil
}

func programVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
