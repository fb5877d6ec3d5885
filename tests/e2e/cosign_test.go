// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"context"
	"strings"
)

// cosignKeyPassword encrypts the row's throwaway signing key; cosign reads
// it from COSIGN_PASSWORD. It is not a registry credential.
const cosignKeyPassword = "e2e-signing-key"

// runCosign: login, sign an image in the registry with a generated key and
// no transparency log (there is no network), verify the signature against
// the key, then erase (cosign has no logout). cosign resolves credentials
// with go-containerregistry, as crane does: with credsStore it asks for
// host/namespace/repo first and falls back to the host on the exact
// not-found.
func runCosign(r *row) {
	host := r.ep.Host
	repo := r.repo("")
	r.env = append(r.env, "COSIGN_PASSWORD="+cosignKeyPassword)
	r.begin("seed an image")
	digest, err := fx.seed(context.Background(), host, repo, "v1")
	if err != nil {
		r.failf("failed to push the image to sign: %v", err)
	}
	ref := host + "/" + repo + "@" + digest
	r.run("generate-key-pair", "", "cosign", "generate-key-pair")
	r.login("cosign", "login", host, "--username", r.user, "--password-stdin")

	r.run("sign --key", "", "cosign", "sign", "--yes", "--key", "cosign.key",
		"--tlog-upload=false", "--use-signing-config=false", ref)
	r.expectCosignGets()
	r.expectHeld()

	out := r.run("verify --key", "", "cosign", "verify", "--key", "cosign.pub", "--insecure-ignore-tlog=true", ref)
	if !strings.Contains(out, `"docker-manifest-digest":"`+digest+`"`) {
		r.failf("cosign verify printed no claim for %s:\n%s", digest, indent(out))
	}
	r.expectCosignGets()
	r.expectHeld()

	r.begin("erase")
	r.erase(host)
	r.expectList(map[string]string{})
}

// expectCosignGets checks that cosign found the credential the way
// go-containerregistry looks it up.
func (r *row) expectCosignGets() {
	r.t.Helper()
	host := r.ep.Host
	if r.config == "docker credsStore" {
		r.expectCalls(want{"get", host + "/" + r.repo(""), "not found"}, want{"get", host, "found"})
		return
	}
	r.expectCalls(want{"get", host, "found"})
}
