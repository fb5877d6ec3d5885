package tokenexchange_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/internal/testutil/oidctest"
	"github.com/notaryproject/docker-credential-notation/tokenexchange"
)

// workloadWorld is a workload issuer (a CI platform), an OpenID provider
// that trusts it for token exchange, and a store over a memory store.
type workloadWorld struct {
	wl    *oidctest.Workload
	op    *oidctest.Provider
	mem   *helpertest.MemStore
	clock *clock
}

func newWorkloadWorld(t *testing.T, opts oidctest.Options) *workloadWorld {
	t.Helper()
	w := &workloadWorld{wl: oidctest.StartWorkload(t), mem: helpertest.NewMemStore(), clock: newClock()}
	opts.Workload = w.wl
	if opts.AccessTokenLifetime == 0 {
		opts.AccessTokenLifetime = 5 * time.Minute
	}
	w.op = oidctest.Start(t, opts)
	return w
}

// registry is the settings of a workload registry at the provider.
func (w *workloadWorld) registry(subject tokenexchange.SubjectSource) tokenexchange.Registry {
	return tokenexchange.Registry{
		Issuer:       w.op.Issuer,
		ClientID:     oidctest.ConfidentialClientID,
		ClientSecret: oidctest.ConfidentialClientSecret,
		Subject:      subject,
		Audience:     "registry.ci.example",
	}
}

func (w *workloadWorld) store(t *testing.T, regs map[string]tokenexchange.Registry) *tokenexchange.Store {
	t.Helper()
	s, err := tokenexchange.New(w.mem, tokenexchange.Options{Dir: t.TempDir(), Registries: regs, Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeToken(t *testing.T, path, token string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("\n"+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// assertNoSecret fails when the memory store holds s anywhere.
func assertNotStored(t *testing.T, mem *helpertest.MemStore, secret string) {
	t.Helper()
	all, err := mem.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for u := range all {
		k, _ := helper.ParseServerURL(u)
		c, _ := mem.Get(context.Background(), k)
		if strings.Contains(c.Secret, secret) || strings.Contains(c.Username, secret) {
			t.Fatalf("the store holds the subject token under %s", u)
		}
	}
}

func TestWorkloadFromFile(t *testing.T) {
	w := newWorkloadWorld(t, oidctest.Options{ExchangeAudience: "registry.ci.example"})
	path := filepath.Join(t.TempDir(), "token")
	subject := w.wl.Token("system:serviceaccount:ci:builder", "sts", 10*time.Minute)
	writeToken(t, path, subject)
	s := w.store(t, map[string]tokenexchange.Registry{"registry.ci.example": w.registry(tokenexchange.FileSubject{Path: path})})
	ctx := context.Background()
	k := key(t, "registry.ci.example")

	c, err := s.Get(ctx, k)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if c.Username != tokenexchange.DefaultUsername || c.Secret == "" || c.Secret == subject {
		t.Fatalf("Get = %v, want the exchanged access token as %s", c, tokenexchange.DefaultUsername)
	}
	if n := len(w.op.Exchanges()); n != 1 {
		t.Fatalf("%d exchanges for the first get, want 1", n)
	}
	// Cached: no request at all.
	w.op.ResetRequests()
	if again, err := s.Get(ctx, k); err != nil || again != c {
		t.Fatalf("second Get = %v, %v; want the cached %v", again, err, c)
	}
	if n := len(w.op.Requests()); n != 0 {
		t.Fatalf("the cached get made %d requests", n)
	}
	assertNotStored(t, w.mem, subject)

	// The platform rotates the token; once the credential is near its
	// expiry, the next get exchanges the current one.
	rotated := w.wl.Token("system:serviceaccount:ci:builder", "sts", 10*time.Minute)
	writeToken(t, path, rotated)
	w.clock.Advance(5 * time.Minute)
	fresh, err := s.Get(ctx, k)
	if err != nil || fresh.Secret == c.Secret {
		t.Fatalf("Get after expiry = %v, %v; want a new token", fresh, err)
	}
	ex := w.op.Exchanges()
	if len(ex) != 1 {
		t.Fatalf("%d exchanges after expiry, want 1", len(ex))
	}
	assertNotStored(t, w.mem, rotated)

	// docker logout: the cached credential goes, success either way.
	for i := range 2 {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if m, _ := w.mem.List(ctx); len(m) != 0 {
		t.Errorf("after Delete the store holds %v", m)
	}
	// store is refused, and says why.
	err = s.Put(ctx, k, helper.Credentials{ServerURL: "registry.ci.example", Username: "u", Secret: "p"})
	if err == nil || !strings.Contains(err.Error(), "comes from exchanging the subject token from file "+path) {
		t.Errorf("Put: %v, want a refusal naming the source", err)
	}
	// list shows nothing for it.
	if _, err := s.Get(ctx, k); err != nil {
		t.Fatal(err)
	}
	if m, err := s.List(ctx); err != nil || len(m) != 0 {
		t.Errorf("List = %v, %v; want nothing", m, err)
	}
}

func TestWorkloadIdentityChangeIsNotServedTheCache(t *testing.T) {
	w := newWorkloadWorld(t, oidctest.Options{})
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, w.wl.Token("job-1", "sts", 10*time.Minute))
	s := w.store(t, map[string]tokenexchange.Registry{"registry.ci.example": w.registry(tokenexchange.FileSubject{Path: path})})
	k := key(t, "registry.ci.example")
	first, err := s.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	// Another job on the same machine: another subject.
	writeToken(t, path, w.wl.Token("job-2", "sts", 10*time.Minute))
	second, err := s.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if first.Secret == second.Secret || len(w.op.Exchanges()) != 2 {
		t.Errorf("a new identity got the cached credential (%d exchanges)", len(w.op.Exchanges()))
	}
}

func TestWorkloadFromGitHubActions(t *testing.T) {
	w := newWorkloadWorld(t, oidctest.Options{SubjectAudience: "sts.ci.example"})
	src := tokenexchange.GitHubActionsSubject{Audience: "sts.ci.example", RequestURL: w.wl.ActionsURL(), RequestToken: w.wl.RequestToken}
	s := w.store(t, map[string]tokenexchange.Registry{"*.ci.example": w.registry(src)})
	if c, err := s.Get(context.Background(), key(t, "registry.ci.example")); err != nil || c.Secret == "" {
		t.Fatalf("Get = %v, %v", c, err)
	}
	if w.wl.ActionsCalls() != 1 || len(w.op.Exchanges()) != 1 {
		t.Errorf("%d Actions token requests and %d exchanges, want 1 and 1", w.wl.ActionsCalls(), len(w.op.Exchanges()))
	}
	// The pattern matches other hosts of the domain, each with its own
	// cache, and nothing else.
	if _, err := s.Get(context.Background(), key(t, "other.ci.example")); err != nil {
		t.Fatal(err)
	}
	if len(w.op.Exchanges()) != 2 {
		t.Errorf("%d exchanges, want 2 (one per registry)", len(w.op.Exchanges()))
	}
	if _, err := s.Get(context.Background(), key(t, "ci.example")); !errors.Is(err, helper.ErrNotFound) {
		t.Errorf("Get of a host the pattern does not match: %v, want the wrapped store's not-found", err)
	}
	// A wrong audience: the runner signs it, the provider refuses it.
	bad := w.store(t, map[string]tokenexchange.Registry{"registry.ci.example": w.registry(tokenexchange.GitHubActionsSubject{Audience: "wrong", RequestURL: w.wl.ActionsURL(), RequestToken: w.wl.RequestToken})})
	_, err := bad.Get(context.Background(), key(t, "registry.ci.example"))
	if err == nil || errors.Is(err, helper.ErrNotFound) || !strings.Contains(err.Error(), "subject_token is invalid") || !strings.Contains(helper.Hint(err), "audience") {
		t.Errorf("Get with the wrong audience: %v (hint %q), want the provider's refusal and an audience hint", err, helper.Hint(err))
	}
}

func TestWorkloadFailures(t *testing.T) {
	w := newWorkloadWorld(t, oidctest.Options{ExchangeAudience: "registry.ci.example"})
	dir := t.TempDir()
	expired := filepath.Join(dir, "expired")
	writeToken(t, expired, w.wl.Token("job", "sts", -time.Minute))
	good := filepath.Join(dir, "good")
	writeToken(t, good, w.wl.Token("job", "sts", 10*time.Minute))
	for _, tc := range []struct {
		name       string
		reg        func() tokenexchange.Registry
		want, hint string
	}{
		{"file missing", func() tokenexchange.Registry {
			return w.registry(tokenexchange.FileSubject{Path: filepath.Join(dir, "missing")})
		}, "failed to read the subject token from file " + filepath.Join(dir, "missing"), "check the path"},
		{"variable unset", func() tokenexchange.Registry { return w.registry(tokenexchange.EnvSubject{Name: "CI_JOB_JWT"}) }, "CI_JOB_JWT is not set", "id_tokens"},
		{"not in GitHub Actions", func() tokenexchange.Registry {
			return w.registry(tokenexchange.GitHubActionsSubject{Audience: "a"})
		}, "ACTIONS_ID_TOKEN_REQUEST_URL", "id-token: write"},
		{"request token refused", func() tokenexchange.Registry {
			return w.registry(tokenexchange.GitHubActionsSubject{Audience: "a", RequestURL: w.wl.ActionsURL(), RequestToken: "wrong-request-token"})
		}, "the runner answered 401", "id-token: write"},
		{"expired subject token", func() tokenexchange.Registry { return w.registry(tokenexchange.FileSubject{Path: expired}) }, "invalid_request: subject_token is invalid", "audience"},
		{"audience mismatch", func() tokenexchange.Registry {
			r := w.registry(tokenexchange.FileSubject{Path: good})
			r.Audience = "another.example"
			return r
		}, "invalid_target: audience must be registry.ci.example", "audience"},
		{"wrong client secret", func() tokenexchange.Registry {
			r := w.registry(tokenexchange.FileSubject{Path: good})
			r.ClientSecret = "wrong-secret"
			return r
		}, "invalid_client", "clientSecretEnv"},
		{"kubelet's token outside kubelet", func() tokenexchange.Registry {
			return w.registry(tokenexchange.ContextSubject{What: "the pod's Kubernetes service account", Why: "only kubelet-provider receives it", Hint: "run it as kubelet's provider"})
		}, "only kubelet-provider receives it", "kubelet's provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := w.store(t, map[string]tokenexchange.Registry{"registry.ci.example": tc.reg()})
			_, err := s.Get(context.Background(), key(t, "registry.ci.example"))
			switch {
			case err == nil:
				t.Fatal("Get succeeded")
			case errors.Is(err, helper.ErrNotFound):
				t.Fatalf("Get: %v: a failure reported as not found", err)
			case !strings.Contains(err.Error(), tc.want) || !strings.Contains(helper.Hint(err), tc.hint):
				t.Fatalf("Get: %v\n(hint %q)\nwant %q with a hint about %q", err, helper.Hint(err), tc.want, tc.hint)
			}
			for _, secret := range []string{"wrong-secret", "wrong-request-token", oidctest.ConfidentialClientSecret} {
				if strings.Contains(err.Error()+helper.Hint(err), secret) {
					t.Fatalf("the error shows a secret: %v", err)
				}
			}
		})
	}
}

func TestWorkloadProviderDown(t *testing.T) {
	w := newWorkloadWorld(t, oidctest.Options{})
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, w.wl.Token("job", "sts", time.Hour))
	s := w.store(t, map[string]tokenexchange.Registry{"registry.ci.example": w.registry(tokenexchange.FileSubject{Path: path})})
	k := key(t, "registry.ci.example")
	c, err := s.Get(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	w.op.SetDown(true)
	// Past the refresh point, before the expiry: the cached credential.
	w.clock.Advance(4*time.Minute + 30*time.Second)
	if got, err := s.Get(context.Background(), k); err != nil || got != c {
		t.Fatalf("Get with the provider down and a valid cache = %v, %v; want the cached credential", got, err)
	}
	// Past the expiry: an error, not not-found.
	w.clock.Advance(time.Minute)
	if _, err := s.Get(context.Background(), k); err == nil || errors.Is(err, helper.ErrNotFound) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Get with the provider down and nothing valid: %v, want the provider's failure", err)
	}
}

func TestWorkloadConcurrentGetsExchangeOnce(t *testing.T) {
	w := newWorkloadWorld(t, oidctest.Options{})
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, w.wl.Token("job", "sts", time.Hour))
	dir := t.TempDir()
	regs := map[string]tokenexchange.Registry{"registry.ci.example": w.registry(tokenexchange.FileSubject{Path: path})}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	tokens := make(chan string, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One Store each, as separate processes would have.
			s, err := tokenexchange.New(w.mem, tokenexchange.Options{Dir: dir, Registries: regs, Now: w.clock.Now})
			if err != nil {
				errs <- err
				return
			}
			c, err := s.Get(context.Background(), key(t, "registry.ci.example"))
			if err != nil {
				errs <- err
				return
			}
			tokens <- c.Secret
		}()
	}
	wg.Wait()
	close(errs)
	close(tokens)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for tok := range tokens {
		seen[tok] = true
	}
	if len(seen) != 1 || len(w.op.Exchanges()) != 1 {
		t.Errorf("%d concurrent gets: %d distinct tokens, %d exchanges; want 1 and 1", n, len(seen), len(w.op.Exchanges()))
	}
}

// TestWorkloadJWTAccessToken: with a provider that issues JWT access
// tokens, the credential get answers verifies against the provider's JWKS,
// as a registry that accepts the provider's tokens checks it.
func TestWorkloadJWTAccessToken(t *testing.T) {
	w := newWorkloadWorld(t, oidctest.Options{JWTAccessTokens: true})
	path := filepath.Join(t.TempDir(), "token")
	writeToken(t, path, w.wl.Token("system:serviceaccount:ci:builder", "sts", 10*time.Minute))
	s := w.store(t, map[string]tokenexchange.Registry{"registry.ci.example": w.registry(tokenexchange.FileSubject{Path: path})})
	c, err := s.Get(context.Background(), key(t, "registry.ci.example"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := w.op.VerifyAccessToken(context.Background(), c.Secret)
	if err != nil || sub != "system:serviceaccount:ci:builder" {
		t.Fatalf("VerifyAccessToken = %q, %v; want the workload's subject", sub, err)
	}
	if _, err := w.op.VerifyAccessToken(context.Background(), w.wl.Token("x", "y", time.Minute)); err == nil {
		t.Fatal("a token of another issuer verified")
	}
}
