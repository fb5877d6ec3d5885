package reliability

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/oidctest"
)

// TestWorkloadConcurrentExchange runs the binary as a CI job would, with
// nothing stored: a workload registry whose subject token is a file the
// platform rotates, exchanged at a real OpenID provider (zitadel's) that
// verifies it against the workload issuer's JWKS. Each round starts many
// `get` processes at once on a cold or stale cache: the provider sees
// exactly one exchange per round, every get answers the same credential,
// none fails, and the subject token is written nowhere. Then the same
// through GitHub Actions' ID-token request.
//
//	RELIABILITY_WORKLOAD_PROCS   concurrent gets per round (default 64)
func TestWorkloadConcurrentExchange(t *testing.T) {
	procs := envInt(t, "RELIABILITY_WORKLOAD_PROCS", 64)
	wl := oidctest.StartWorkload(t)
	p := oidctest.Start(t, oidctest.Options{AccessTokenLifetime: exchangeLifetime, Workload: wl, ExchangeAudience: "registry.ci.example"})
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	cfgFile := filepath.Join(dir, "config.json")
	cfg := `{"registries":{"*.ci.example":{"issuer":"` + p.Issuer + `","clientID":"` + oidctest.ConfidentialClientID + `","clientSecretEnv":"STS_CLIENT_SECRET",
		"audience":"registry.ci.example","subjectToken":{"file":"` + tokenFile + `"}},
		"actions.example":{"issuer":"` + p.Issuer + `","clientID":"` + oidctest.ConfidentialClientID + `","clientSecretEnv":"STS_CLIENT_SECRET",
		"audience":"registry.ci.example","subjectToken":{"githubActions":{"audience":"sts"}}},
		"k8s.ci.example":{"issuer":"` + p.Issuer + `","clientID":"` + oidctest.ConfidentialClientID + `","clientSecretEnv":"STS_CLIENT_SECRET",
		"audience":"registry.ci.example","subjectToken":{"kubernetesServiceAccount":{}}}}}`
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSandbox(t, "DOCKER_CREDENTIAL_NOTATION_CONFIG="+cfgFile, "STS_CLIENT_SECRET="+oidctest.ConfidentialClientSecret,
		"ACTIONS_ID_TOKEN_REQUEST_URL="+wl.ActionsURL(), "ACTIONS_ID_TOKEN_REQUEST_TOKEN="+wl.RequestToken)
	const registry = "registry.ci.example"

	var subjects []string
	prev := ""
	issued := time.Time{}
	for round := 1; round <= 2; round++ {
		if round > 1 {
			// Stale from issued + 3/4 of the lifetime on.
			time.Sleep(time.Until(issued.Add(exchangeLifetime*3/4 + 300*time.Millisecond)))
		}
		// The platform writes a new token each round.
		subject := wl.Token("system:serviceaccount:ci:builder", "sts", time.Hour)
		subjects = append(subjects, subject)
		if err := os.WriteFile(tokenFile, []byte(subject+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		before := len(p.Exchanges())
		start := time.Now()
		results := concurrentGets(t, s, registry, procs)
		elapsed := time.Since(start)
		n := len(p.Exchanges()) - before
		if elapsed >= exchangeLifetime*3/4 {
			t.Fatalf("round %d: %d gets took %v, longer than an exchanged token stays fresh: the count would mean nothing", round, procs, elapsed)
		}
		tokens := map[string]int{}
		for _, r := range results {
			var c cred
			if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &c) != nil {
				t.Errorf("round %d: get: %v", round, r)
				continue
			}
			if c.Username != "oauth2accesstoken" || c.Secret == "" || c.Secret == subject {
				t.Errorf("round %d: get answered username %q and a secret of %d bytes", round, c.Username, len(c.Secret))
			}
			tokens[c.Secret]++
		}
		if n != 1 {
			t.Errorf("round %d: %d concurrent gets made %d exchanges at the provider, want exactly 1", round, procs, n)
		}
		if len(tokens) != 1 {
			t.Errorf("round %d: the gets answered %d different credentials, want 1", round, len(tokens))
		}
		for tok := range tokens {
			if tok == prev {
				t.Errorf("round %d: the gets answered the stale credential", round)
			}
			prev = tok
		}
		issued = time.Now()
		t.Logf("round %d: %d concurrent gets in %v, %d exchange at the provider", round, procs, elapsed.Round(time.Millisecond), n)
	}

	// GitHub Actions: the runner's endpoint, then the exchange.
	r := s.run(t, "actions.example", "get")
	var c cred
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &c) != nil || c.Secret == "" || wl.ActionsCalls() != 1 {
		t.Fatalf("get through GitHub Actions: %v (%d Actions requests)", r, wl.ActionsCalls())
	}
	// Outside a job: a clear error, never not-found.
	r = s.run(t, "actions.example", "get")
	if r.Code != 0 {
		t.Fatalf("cached get through GitHub Actions: %v", r)
	}
	noJob := newSandbox(t, "DOCKER_CREDENTIAL_NOTATION_CONFIG="+cfgFile, "STS_CLIENT_SECRET="+oidctest.ConfidentialClientSecret)
	r = noJob.run(t, "actions.example", "get")
	if r.Code != 1 || !strings.Contains(r.Stdout, "ACTIONS_ID_TOKEN_REQUEST_URL") || strings.Contains(r.Stdout, "credentials not found") || !strings.Contains(r.Stderr, "id-token: write") {
		t.Errorf("get outside a job: %v, want exit 1 naming the variables and a hint", r)
	}
	// store is refused; erase succeeds.
	if r := s.run(t, `{"ServerURL":"registry.ci.example","Username":"u","Secret":"p"}`, "store"); r.Code != 1 || !strings.Contains(r.Stdout, "refusing to store") {
		t.Errorf("store for a workload registry: %v", r)
	}
	if r := s.run(t, registry, "erase"); r.Code != 0 {
		t.Errorf("erase for a workload registry: %v", r)
	}

	// kubelet: the pod's service-account token in the request is the
	// subject token; the answer's cacheDuration ends before the token does.
	saToken := wl.Token("system:serviceaccount:apps:puller", "sts", time.Hour)
	subjects = append(subjects, saToken)
	req := `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"k8s.ci.example/apps/web","serviceAccountToken":"` + saToken + `"}`
	r = s.run(t, req, "kubelet-provider")
	var resp struct {
		CacheKeyType, CacheDuration string
		Auth                        map[string]struct{ Username, Password string }
	}
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &resp) != nil || resp.Auth["k8s.ci.example"].Password == "" || resp.CacheKeyType != "Registry" {
		t.Fatalf("kubelet-provider with a service-account token: %v", r)
	}
	if d, err := time.ParseDuration(resp.CacheDuration); err != nil || d <= 0 || d > exchangeLifetime {
		t.Errorf("kubelet-provider cacheDuration %q, want within the token's %v", resp.CacheDuration, exchangeLifetime)
	}
	// A plain get has no service-account token: a clear error.
	if r := s.run(t, "k8s.ci.example", "get"); r.Code != 1 || !strings.Contains(r.Stdout, "kubelet-provider") || strings.Contains(r.Stdout, "credentials not found") {
		t.Errorf("get for a kubernetesServiceAccount registry: %v, want exit 1 naming kubelet-provider", r)
	}

	// The subject tokens and the request token are written nowhere.
	secrets := append(subjects, wl.RequestToken)
	_ = filepath.Walk(s.Root, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(path)
		for _, secret := range secrets {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds a subject token", path)
			}
		}
		return nil
	})
}
