package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/internal/config"
	"github.com/notaryproject/docker-credential-notation/internal/testutil/oidctest"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// The login and logout commands, run in process against a real OpenID
// Provider (internal/testutil/oidctest) with the token-exchange decorator over
// an in-memory store, composed as main composes them.

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// loginWorld is one user's machine: a helper directory, a store, and the
// environment the program sees.
type loginWorld struct {
	mem  *helpertest.MemStore
	vars map[string]string
	dir  string
}

func newLoginWorld(t *testing.T) *loginWorld {
	dir := t.TempDir()
	return &loginWorld{
		mem: helpertest.NewMemStore(),
		dir: dir,
		vars: map[string]string{
			config.EnvStoreDir: filepath.Join(dir, "store"),
			"HOME":             dir,
			"XDG_CONFIG_HOME":  filepath.Join(dir, "config"),
			"IDP_SECRET":       oidctest.ConfidentialClientSecret,
		},
	}
}

func (w *loginWorld) configFile() string {
	return filepath.Join(w.dir, "config", config.AppDirName, config.ConfigFileName)
}

// openStore composes the store as main does: the exchange decorator with
// the configuration's registries over the backend.
func (w *loginWorld) openStore(_ context.Context, cfg *config.Config, env *Env) (*Opened, error) {
	regs := map[string]tokenexchange.Registry{}
	for u, r := range cfg.Registries {
		secret := ""
		if r.ClientSecretEnv != "" {
			secret = env.Getenv(r.ClientSecretEnv)
		}
		regs[u] = tokenexchange.Registry{Issuer: r.Issuer, TokenURL: r.TokenURL, DeviceAuthURL: r.DeviceAuthURL, ClientID: r.ClientID,
			ClientSecret: secret, ClientSecretEnv: r.ClientSecretEnv, Scopes: r.Scopes, Username: r.Username, Insecure: r.Insecure, Timeout: r.TimeoutDuration()}
	}
	te, err := tokenexchange.New(w.mem, tokenexchange.Options{Dir: cfg.StoreDir, Registries: regs, Warn: env.Stderr})
	if err != nil {
		return nil, err
	}
	return &Opened{Store: te, Exchange: te, Description: "memory"}, nil
}

// run runs the program; stderr may be read while it runs.
func (w *loginWorld) run(ctx context.Context, stdin string, stderr *lockedBuffer, args ...string) (int, string) {
	var out bytes.Buffer
	env := &Env{
		Stdin:     strings.NewReader(stdin),
		Stdout:    &out,
		Stderr:    stderr,
		Getenv:    func(k string) string { return w.vars[k] },
		Version:   "v0.0.0-test",
		OpenStore: w.openStore,
	}
	code := Run(ctx, append([]string{Name}, args...), env)
	return code, out.String()
}

var userCodeRE = regexp.MustCompile(`enter the code:\n\n    (\S+)\n`)

// approveWhenShown waits for the code on stderr and approves it at the
// provider, as the user would in a browser.
func approveWhenShown(ctx context.Context, t *testing.T, p *oidctest.Provider, stderr *lockedBuffer) {
	for ctx.Err() == nil {
		if m := userCodeRE.FindStringSubmatch(stderr.String()); m != nil {
			if err := p.Approve(ctx, m[1]); err != nil {
				t.Errorf("Approve: %v", err)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLoginDeviceFlowSavesSettings(t *testing.T) {
	countdownEvery = 200 * time.Millisecond
	defer func() { countdownEvery = 10 * time.Second }()
	p := oidctest.Start(t, oidctest.Options{PollInterval: 2})
	w := newLoginWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	stderr := &lockedBuffer{}
	go approveWhenShown(ctx, t, p, stderr)
	code, stdout := w.run(ctx, "", stderr, "login", "--issuer", p.Issuer, "--client-id", oidctest.ConfidentialClientID,
		"--client-secret-env", "IDP_SECRET", "--scope", "openid,offline_access", "--token-username", "oauth2", "registry.example.com")
	if code != 0 || stdout != "Login Succeeded\n" {
		t.Fatalf("login: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, want := range []string{"open this URL", p.Issuer + "device", "waiting for approval: ", "left\n", "saved the token exchange settings of registry.example.com"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	b, err := os.ReadFile(w.configFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"registry.example.com"`, `"clientID": "registry-cli-confidential"`, `"clientSecretEnv": "IDP_SECRET"`, `"username": "oauth2"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("config file lacks %s:\n%s", want, b)
		}
	}
	if bytes.Contains(b, []byte(oidctest.ConfidentialClientSecret)) {
		t.Fatal("the client secret was written to the config file")
	}

	// docker's get, in a new process: the access token, not the refresh token.
	rt, err := w.mem.Get(ctx, mustKey(t, "registry.example.com"))
	if err != nil || rt.Username != helper.IdentityTokenUsername {
		t.Fatalf("stored %v, %v; want a refresh token", rt, err)
	}
	code, stdout = w.run(ctx, "registry.example.com", &lockedBuffer{}, "get")
	if code != 0 || !strings.Contains(stdout, `"Username":"oauth2"`) || strings.Contains(stdout, rt.Secret) {
		t.Fatalf("get: exit %d, stdout %q", code, stdout)
	}

	// logout erases the refresh token and the cache.
	code, stdout = w.run(ctx, "", &lockedBuffer{}, "logout", "https://registry.example.com")
	if code != 0 || stdout != "Removed the credentials for registry.example.com\n" {
		t.Fatalf("logout: exit %d, stdout %q", code, stdout)
	}
	if m, _ := w.mem.List(ctx); len(m) != 0 {
		t.Fatalf("after logout the store holds %v", m)
	}
	stderr = &lockedBuffer{}
	code, _ = w.run(ctx, "", stderr, "logout", "registry.example.com")
	if code != 0 || !strings.Contains(stderr.String(), "not logged in to registry.example.com") {
		t.Fatalf("second logout: exit %d, stderr %q", code, stderr)
	}
}

func TestLoginConfiguredRegistry(t *testing.T) {
	p := oidctest.Start(t, oidctest.Options{})
	w := newLoginWorld(t)
	cfg := `{"registries":{"https://registry.example.com":{"issuer":"` + p.Issuer + `","clientID":"` + oidctest.PublicClientID + `"}}}`
	if err := os.MkdirAll(filepath.Dir(w.configFile()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.configFile(), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stderr := &lockedBuffer{}
	go approveWhenShown(ctx, t, p, stderr)
	if code, stdout := w.run(ctx, "", stderr, "login", "registry.example.com"); code != 0 {
		t.Fatalf("login: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(w.configFile()); string(b) != cfg {
		t.Fatalf("a login without options rewrote the config file:\n%s", b)
	}
	code, stdout := w.run(ctx, "registry.example.com", &lockedBuffer{}, "get")
	if code != 0 || !strings.Contains(stdout, `"Username":"oauth2accesstoken"`) {
		t.Fatalf("get: exit %d, stdout %q", code, stdout)
	}
}

func TestLoginRefreshTokenStdin(t *testing.T) {
	p := oidctest.Start(t, oidctest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A refresh token from a device login elsewhere.
	other := newLoginWorld(t)
	stderr := &lockedBuffer{}
	go approveWhenShown(ctx, t, p, stderr)
	if code, _ := other.run(ctx, "", stderr, "login", "--issuer", p.Issuer, "--client-id", oidctest.PublicClientID, "registry.example.com"); code != 0 {
		t.Fatalf("login elsewhere: %s", stderr)
	}
	c, err := other.mem.Get(ctx, mustKey(t, "registry.example.com"))
	if err != nil {
		t.Fatal(err)
	}

	w := newLoginWorld(t)
	stderr = &lockedBuffer{}
	code, stdout := w.run(ctx, c.Secret+"\n", stderr, "login", "--refresh-token-stdin", "--issuer", p.Issuer, "--client-id", oidctest.PublicClientID, "registry.example.com")
	if code != 0 || stdout != "Login Succeeded\n" {
		t.Fatalf("login --refresh-token-stdin: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if got, _ := w.mem.Get(ctx, mustKey(t, "registry.example.com")); got.Username != helper.IdentityTokenUsername || got.Secret == c.Secret {
		t.Fatalf("stored %v, want the rotated refresh token", got)
	}

	// The same token again is spent: refused, nothing stored, no settings saved.
	w2 := newLoginWorld(t)
	stderr = &lockedBuffer{}
	code, _ = w2.run(ctx, c.Secret, stderr, "login", "--refresh-token-stdin", "--issuer", p.Issuer, "--client-id", oidctest.PublicClientID, "registry.example.com")
	if code != 1 || !strings.Contains(stderr.String(), "invalid_grant") || strings.Contains(stderr.String(), c.Secret) {
		t.Fatalf("importing a spent token: exit %d, stderr %q", code, stderr)
	}
	if m, _ := w2.mem.List(ctx); len(m) != 0 {
		t.Fatalf("a refused import stored %v", m)
	}
	if _, err := os.Stat(w2.configFile()); !os.IsNotExist(err) {
		t.Fatalf("a refused import saved settings: %v", err)
	}

	// A registry not configured for exchange: stored as docker stores an
	// identity token, with a note.
	w3 := newLoginWorld(t)
	stderr = &lockedBuffer{}
	code, _ = w3.run(ctx, "identity-token\n", stderr, "login", "--refresh-token-stdin", "plain.example.com")
	if code != 0 || !strings.Contains(stderr.String(), "not configured for token exchange") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if got, _ := w3.mem.Get(ctx, mustKey(t, "plain.example.com")); got.Username != helper.IdentityTokenUsername || got.Secret != "identity-token" {
		t.Fatalf("stored %v", got)
	}
}

func TestLoginPassword(t *testing.T) {
	ctx := context.Background()
	w := newLoginWorld(t)
	code, stdout := w.run(ctx, "s3cret\r\n", &lockedBuffer{}, "login", "--username", "alice", "--password-stdin", "registry.example.com")
	if code != 0 || stdout != "Stored the credentials for registry.example.com\n" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	got, err := w.mem.Get(ctx, mustKey(t, "registry.example.com"))
	if err != nil || got != (helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "s3cret"}) {
		t.Fatalf("stored %v, %v", got, err)
	}

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"no username", "pw", []string{"--password-stdin", "r.example.com"}, "needs --username"},
		{"empty password", "\n", []string{"-u", "alice", "--password-stdin", "r.example.com"}, "empty password"},
		{"no terminal", "", []string{"-u", "alice", "r.example.com"}, "no terminal"},
		{"exchange options", "pw", []string{"-u", "alice", "--password-stdin", "--client-id", "x", "r.example.com"}, "--client-id sets token exchange"},
		{"both stdin modes", "pw", []string{"--password-stdin", "--refresh-token-stdin", "r.example.com"}, "exclude each other"},
		{"password in argv", "", []string{"--password", "hunter2", "r.example.com"}, "flag provided but not defined: -password"},
		{"not configured", "", []string{"r.example.com"}, "not configured for token exchange"},
		{"option after registry", "", []string{"r.example.com", "--client-id", "x"}, "put the options before the registry"},
		{"no registry", "", nil, "no registry given"},
		{"bad registry", "", []string{"user:pw@r.example.com"}, "user name or password"},
		{"incomplete settings", "", []string{"--issuer", "https://idp.example.com/", "r.example.com"}, `no "clientID"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr := &lockedBuffer{}
			code, stdout := w.run(ctx, tc.stdin, stderr, append([]string{"login"}, tc.args...)...)
			if code != 1 || !strings.Contains(stdout+stderr.String(), tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, tc.want)
			}
			if strings.Contains(stdout+stderr.String(), "hunter2") || strings.Contains(stdout+stderr.String(), ":pw@") {
				t.Fatal("a secret was echoed")
			}
		})
	}
}

func TestCountdown(t *testing.T) {
	for _, tc := range []struct {
		name string
		tty  bool
		want []string
	}{
		{"terminal", true, []string{"\r\033[Kwaiting for approval: 0:0", "\r\033[Kthe code has expired\n"}},
		{"log", false, []string{"waiting for approval: 1s left\n", "the code has expired\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			countdownEvery = 300 * time.Millisecond
			defer func() { countdownEvery = 10 * time.Second }()
			var b lockedBuffer
			done := make(chan struct{})
			countdown(&b, tc.tty, time.Now().Add(1500*time.Millisecond), done)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("countdown printed %q, want %q in it", b.String(), w)
				}
			}
		})
	}
	t.Run("stopped", func(t *testing.T) {
		var b lockedBuffer
		show, stop := deviceCodeDisplay(&b, false, mustKey(t, "r.example.com"))
		show("https://idp.example.com/device", "https://idp.example.com/device?user_code=ABCD-EFGH", "ABCD-EFGH", time.Now().Add(time.Hour))
		stop()
		stop() // idempotent
		out := b.String()
		for _, w := range []string{"https://idp.example.com/device\n", "    ABCD-EFGH\n", "user_code=ABCD-EFGH, which has the code filled in", "waiting for approval: 59m"} {
			if !strings.Contains(out, w) {
				t.Errorf("display %q lacks %q", out, w)
			}
		}
	})
}

func mustKey(t *testing.T, u string) helper.Key {
	t.Helper()
	k, err := helper.ParseServerURL(u)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
