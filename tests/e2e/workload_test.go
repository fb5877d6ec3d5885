// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/oidctest"
)

// workloadLifetime is the lifetime of the provider's access tokens in the
// workload rows: the helper re-mints at 3/4 of it, so a row waits about
// that long between its two pulls.
const workloadLifetime = 12 * time.Second

// workloadEP is the workload registry, set by TestWorkload for its rows.
var workloadEP endpoint

// TestWorkload runs docker, oras and crane against a registry whose token
// service accepts only what an OAuth2 provider issued (its JWT access
// tokens, verified against the provider's JWKS) or the seeding user, with
// nothing stored in the helper: its config names a subject token file, as
// a Kubernetes projected token or a CI job's ID token is. The provider is
// zitadel's, serving RFC 8693 token exchange and verifying the subject
// tokens against a second issuer's JWKS. Each row pulls, waits until the
// exchanged credential is stale, lets the platform rotate the token file,
// and pulls again: the helper re-mints from the current token (two
// exchanges for the row's workload), and logout leaves nothing behind.
func TestWorkload(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	wl := oidctest.StartWorkload(t)
	p := oidctest.Start(t, oidctest.Options{AccessTokenLifetime: workloadLifetime, Workload: wl, JWTAccessTokens: true, ExchangeAudience: "e2e-workload-registry"})
	ctx, cancel := context.WithTimeout(context.Background(), serversReadyTimeout)
	defer cancel()
	wr, err := fx.srv.StartWorkloadRegistry(ctx, peers.path("registry"), "e2e-workload", p.VerifyAccessToken)
	if err != nil {
		t.Fatalf("failed to start the workload registry: %v", err)
	}
	workloadEP = endpoint{Scheme: "token", Host: wr.Host}
	// After the rows: the registry really was pulled from with the
	// provider's tokens (two pulls a row, each with a registry token).
	rows := 2 * len(backends) * 3
	t.Cleanup(func() {
		if n := wr.ProviderGrants(); n < int64(rows) {
			t.Errorf("the workload registry granted %d tokens for provider access tokens, want at least %d", n, rows)
		}
	})
	for _, b := range backends {
		for _, c := range []string{"docker", "oras", "crane"} {
			s := spec{backend: b, client: c, config: "docker credHelpers", scheme: "workload"}
			t.Run(c+"/docker_credHelpers/workload/"+b, func(t *testing.T) {
				t.Parallel()
				r := newRow(t, s)
				runWorkload(r, wl, p)
			})
		}
	}
}

func runWorkload(r *row, wl *oidctest.Workload, p *oidctest.Provider) {
	host := r.ep.Host
	repo := r.repo("")
	ref := host + "/" + repo + ":v1"
	// The platform's token file lives outside the row's directories, as a
	// projected token does: none of the row's files may hold it.
	platform := r.t.TempDir()
	tokenFile := filepath.Join(platform, "token")
	subject := "system:serviceaccount:ci:" + strings.ReplaceAll(r.t.Name(), "/", "-")
	var subjects []string
	rotate := func() {
		tok := wl.Token(subject, "sts", time.Hour)
		subjects = append(subjects, tok)
		if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
			r.t.Fatal(err)
		}
	}
	rotate()
	cfg, _ := json.Marshal(map[string]any{"registries": map[string]any{host: map[string]any{
		"issuer":          p.Issuer,
		"clientID":        oidctest.ConfidentialClientID,
		"clientSecretEnv": "E2E_STS_CLIENT_SECRET",
		"audience":        "e2e-workload-registry",
		"subjectToken":    map[string]string{"file": tokenFile},
	}}})
	cfgFile := filepath.Join(r.dir, "helper-config.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		r.t.Fatal(err)
	}
	r.env = append(r.env, "DOCKER_CREDENTIAL_NOTATION_CONFIG="+cfgFile, "E2E_STS_CLIENT_SECRET="+oidctest.ConfidentialClientSecret)
	r.held = map[string]string{}

	r.begin("seed an image")
	if _, err := fx.seed(context.Background(), host, repo, "v1"); err != nil {
		r.failf("failed to push the image to pull: %v", err)
	}
	exchanges := func() int {
		n := 0
		for _, rq := range p.Exchanges() {
			if rq.Subject == subject {
				n++
			}
		}
		return n
	}
	pull := func(step string) {
		switch r.client {
		case "docker":
			out := r.run(step, "", "docker", "manifest", "inspect", ref)
			if !strings.Contains(out, `"schemaVersion": 2`) {
				r.failf("docker manifest inspect printed no manifest:\n%s", indent(out))
			}
		case "oras":
			out := r.run(step, "", "oras", "manifest", "fetch", ref)
			if !strings.Contains(out, `"schemaVersion":2`) && !strings.Contains(out, `"schemaVersion": 2`) {
				r.failf("oras manifest fetch printed no manifest:\n%s", indent(out))
			}
		case "crane":
			r.run(step, "", "crane", "pull", ref, "image-"+strings.ReplaceAll(step, " ", "-")+".tar")
		}
		r.expectCalls(want{"get", host, "found"})
		r.expectHeld()
	}
	started := time.Now()
	pull("pull")
	if n := exchanges(); n != 1 {
		r.failf("the first pull made %d exchanges for this workload, want 1", n)
	}
	// The credential goes stale; the platform has rotated its token.
	time.Sleep(time.Until(started.Add(workloadLifetime*3/4 + 500*time.Millisecond)))
	rotate()
	pull("pull after the credential went stale")
	if n := exchanges(); n != 2 {
		r.failf("after the credential went stale, %d exchanges for this workload, want 2 (re-minted once from the rotated token)", n)
	}

	switch r.client {
	case "docker":
		r.run("logout", "", "docker", "logout", host)
	case "oras":
		r.run("logout", "", "oras", "logout", host)
	case "crane":
		r.run("logout", "", "crane", "auth", "logout", host)
	}
	r.expectCalls(want{"erase", "", "ok"})
	r.expectList(map[string]string{})
	r.expectNoPlaintext(append(subjects, oidctest.ConfidentialClientSecret)...)
}
