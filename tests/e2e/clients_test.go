// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// spec is one row of the matrix.
type spec struct {
	backend, client, config, scheme string
}

var (
	// backends are the helper's store backends, set per row with
	// DOCKER_CREDENTIAL_NOTATION_BACKEND. A keychain row starts its own
	// session bus and gnome-keyring (keychain_test.go): rows run in
	// parallel and each checks the helper's whole `list`.
	backends      = []string{"file", "keychain"}
	dockerConfigs = []string{"docker credsStore", "docker credHelpers"}
	allConfigs    = []string{"docker credsStore", "docker credHelpers", "notation credsStore", "notation credHelpers"}
	schemes       = []string{"basic", "token", "identity-token"}
)

// matrix lists every row: each client with each config mode it reads and
// each auth scheme.
func matrix() []spec {
	var rows []spec
	add := func(client string, configs []string) {
		for _, b := range backends {
			for _, c := range configs {
				for _, s := range schemes {
					rows = append(rows, spec{backend: b, client: client, config: c, scheme: s})
				}
			}
		}
	}
	add("docker", dockerConfigs)
	add("notation", allConfigs)
	add("oras", dockerConfigs)
	add("crane", dockerConfigs)
	// A credential per namespace of one registry (repository-scoped keys).
	for _, b := range backends {
		for _, c := range dockerConfigs {
			rows = append(rows, spec{backend: b, client: "crane", config: c, scheme: "namespaces"})
		}
	}
	add("regctl", dockerConfigs)
	add("skopeo", dockerConfigs)
	add("podman", append(containersConfigs, rootlessConfig))
	add("buildah", containersConfigs)
	add("helm", helmConfigs)
	add("cosign", dockerConfigs)
	return rows
}

var runners = map[string]func(*row){
	"docker":   runDocker,
	"notation": runNotation,
	"oras":     runOras,
	"crane":    runCrane,
	"regctl":   runRegctl,
	"skopeo":   runSkopeo,
	"podman":   runPodman,
	"buildah":  runBuildah,
	"helm":     runHelm,
	"cosign":   runCosign,
}

// TestClients runs the matrix. Each row is a parallel subtest named
// client/config/scheme/backend, e.g.
// TestClients/oras/docker_credsStore/token/file.
func TestClients(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	for _, s := range matrix() {
		name := s.client + "/" + strings.ReplaceAll(s.config, " ", "_") + "/" + s.scheme + "/" + s.backend
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := newRow(t, s)
			runners[s.client](r)
			r.expectNoPlaintext(fx.password, fx.secondPassword, r.secret)
		})
	}
}

// runDocker: the docker CLI with no daemon logs in by itself; on the token
// registry it stores the refresh token it gets as an identity token
// (<token>). `docker manifest inspect` then reads the registry with the
// stored credential, client side. (`docker login` with no credentials, the
// other reader, needs a daemon: without one it goes straight to an
// interactive prompt.)
func runDocker(r *row) {
	host := r.ep.Host
	repo := r.repo("")
	switch r.scheme {
	case "basic":
		r.login("docker", "login", "--username", r.user, "--password-stdin", host)
	case "token":
		r.run("login", r.secret, "docker", "login", "--username", r.user, "--password-stdin", host)
		r.expectCalls(want{"store", "", "ok"})
		r.held = map[string]string{host: identityUser}
		r.expectHeld()
		r.expectGet(host, identityUser, "")
	case "identity-token":
		r.login("docker")
	}

	r.begin("seed an image")
	if _, err := fx.seed(context.Background(), host, repo, "v1"); err != nil {
		r.failf("failed to push the image to inspect: %v", err)
	}
	out := r.run("manifest inspect", "", "docker", "manifest", "inspect", host+"/"+repo+":v1")
	if !strings.Contains(out, `"schemaVersion": 2`) {
		r.failf("docker manifest inspect printed no manifest:\n%s", indent(out))
	}
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()

	r.run("logout", "", "docker", "logout", host)
	r.expectCalls(want{"erase", "", "ok"})
	r.expectList(map[string]string{})
}

// runNotation: login, sign with a generated test key, ls, logout; notation
// reads the helper from its own config.json or, when that has none,
// docker's.
func runNotation(r *row) {
	host := r.ep.Host
	repo := r.repo("")
	r.begin("seed an image")
	digest, err := fx.seed(context.Background(), host, repo, "v1")
	if err != nil {
		r.failf("failed to push the image to sign: %v", err)
	}
	ref := host + "/" + repo + "@" + digest

	r.run("cert generate-test", "", "notation", "cert", "generate-test", "--default", "e2e")
	r.login("notation", "login", "--username", r.user, "--password-stdin", host)

	r.run("sign", "", "notation", "sign", ref)
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()
	r.expectGet(host, r.user, r.secret)

	out := r.run("ls", "", "notation", "ls", ref)
	if !strings.Contains(out, "application/vnd.cncf.notary.signature") {
		r.failf("notation ls shows no signature:\n%s", indent(out))
	}
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()

	r.run("logout", "", "notation", "logout", host)
	r.expectCalls(want{"erase", host, "ok"})
	r.expectList(map[string]string{})
}

// runOras: login, push, pull, logout.
func runOras(r *row) {
	host := r.ep.Host
	ref := host + "/" + r.repo("") + ":v1"
	content := "hello from oras " + r.config + " " + r.scheme + "\n"
	if err := os.WriteFile(filepath.Join(r.work, "hello.txt"), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.login("oras", "login", "--username", r.user, "--password-stdin", host)

	r.run("push", "", "oras", "push", ref, "hello.txt:text/plain")
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()

	r.run("pull", "", "oras", "pull", ref, "--output", "pulled")
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()
	got, err := os.ReadFile(filepath.Join(r.work, "pulled", "hello.txt"))
	if err != nil || string(got) != content {
		r.failf("oras pull did not give back the pushed file: %q, %v", got, err)
	}

	r.run("logout", "", "oras", "logout", host)
	r.expectCalls(want{"erase", host, "ok"})
	r.expectList(map[string]string{})
}

// runCrane: login, append, pull. With credsStore crane first asks for the
// repository-scoped key host/namespace/repo and needs the exact not-found
// reply to fall back to the host; a repository-scoped entry then wins over
// the host's. (With credHelpers, keyed by host, it asks for the host only.)
func runCrane(r *row) {
	if r.scheme == "namespaces" {
		runCraneNamespaces(r)
		return
	}
	host := r.ep.Host
	repo := r.repo("")
	ref := host + "/" + repo + ":v1"
	scoped := host + "/" + repo
	layer, _ := imageLayer(repo)
	if err := os.WriteFile(filepath.Join(r.work, "layer.tar"), layer, 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.login("crane", "auth", "login", host, "--username", r.user, "--password-stdin")

	r.run("append", "", "crane", "append", "--new_layer", "layer.tar", "--new_tag", ref)
	if r.config == "docker credsStore" {
		r.expectCalls(want{"get", scoped, "not found"}, want{"get", host, "found"})
	} else {
		r.expectCalls(want{"get", host, "found"})
	}
	r.expectHeld()

	r.run("pull", "", "crane", "pull", ref, "image.tar")
	if fi, err := os.Stat(filepath.Join(r.work, "image.tar")); err != nil || fi.Size() == 0 {
		r.failf("crane pull wrote no image: %v", err)
	}
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()

	if r.config == "docker credsStore" {
		// The right credential under the repository-scoped key and a wrong
		// one for the host: the pull must use the scoped one.
		r.begin("store a repository-scoped credential")
		r.store(scoped, r.user, r.secret)
		wrong := "not-the-password"
		if r.scheme == "identity-token" {
			wrong = "not-a-refresh-token"
		}
		r.store(host, r.user, wrong)
		r.held = map[string]string{host: r.user, scoped: r.user}
		r.expectHeld()
		r.run("pull with the repository-scoped credential", "", "crane", "pull", ref, "image2.tar")
		r.expectCalls(want{"get", scoped, "found"})
		r.expectHeld()
		r.begin("restore the host credential")
		r.store(host, r.user, r.secret)
	}

	r.run("logout", "", "crane", "auth", "logout", host)
	r.expectCalls(want{"erase", host, "ok"})
	delete(r.held, host)
	r.expectHeld()
	if r.config == "docker credsStore" {
		r.erase(scoped)
		r.expectList(map[string]string{})
	}
}

// runRegctl: regctl's own login writes regctl's config, not docker's, so the
// credential goes into the helper directly (as a docker login would put
// it); regctl finds it through docker's config: with credsStore it
// resolves hosts through `list`, then `get`.
func runRegctl(r *row) {
	host := r.ep.Host
	repo := r.repo("")
	r.begin("seed an image")
	if _, err := fx.seed(context.Background(), host, repo, "v1"); err != nil {
		r.failf("failed to push the image to list: %v", err)
	}
	r.login("regctl")
	// registry set pings the registry, with the credential.
	r.run("registry set --cacert", "", "regctl", "registry", "set", host, "--cacert", string(fx.caPEM))
	r.expectHeld()

	out := r.run("tag ls", "", "regctl", "tag", "ls", host+"/"+repo)
	if strings.TrimSpace(out) != "v1" {
		r.failf("regctl tag ls printed %q, want v1", out)
	}
	if r.config == "docker credsStore" {
		r.expectCalls(want{"list", "", "ok"}, want{"get", host, "found"})
	} else {
		r.expectCalls(want{"get", host, "found"})
	}
	r.expectHeld()

	r.begin("erase")
	r.erase(host)
	r.expectList(map[string]string{})
}

// runSkopeo: login into docker's config.json (where credHelpers names the
// helper), copy between two repositories (a pull and a push), inspect,
// logout.
func runSkopeo(r *row) {
	if r.config == "docker credsStore" {
		skopeoIgnoresCredsStore(r)
		return
	}
	host := r.ep.Host
	src, dst := r.repo("src"), r.repo("dst")
	r.begin("seed an image")
	if _, err := fx.seed(context.Background(), host, src, "v1"); err != nil {
		r.failf("failed to push the image to copy: %v", err)
	}
	authfile := filepath.Join(r.dockerConfig, "config.json")
	r.login("skopeo", "login", "--authfile", authfile, "--username", r.user, "--password-stdin", host)

	r.run("copy", "", "skopeo", "copy", "--insecure-policy",
		"docker://"+host+"/"+src+":v1", "docker://"+host+"/"+dst+":v1")
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()

	out := r.run("inspect", "", "skopeo", "inspect", "docker://"+host+"/"+dst+":v1")
	if !strings.Contains(out, `"Digest"`) {
		r.failf("skopeo inspect printed no digest:\n%s", indent(out))
	}
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()

	r.run("logout", "", "skopeo", "logout", "--authfile", authfile, host)
	r.expectCalls(want{"erase", host, "ok"})
	r.expectList(map[string]string{})
}

// skopeoIgnoresCredsStore checks what FIELD-NOTES say of skopeo 1.9: it
// ignores credsStore. With the credential in the helper, an inspect that
// fails without asking the helper makes the row n/a; if a newer skopeo asks
// the helper and succeeds, the row passes and the table says so.
func skopeoIgnoresCredsStore(r *row) {
	host := r.ep.Host
	repo := r.repo("")
	r.begin("seed an image")
	if _, err := fx.seed(context.Background(), host, repo, "v1"); err != nil {
		r.failf("failed to push the image to inspect: %v", err)
	}
	r.login("skopeo")
	r.begin("inspect")
	res := r.exec("", "skopeo", "inspect", "docker://"+host+"/"+repo+":v1")
	calls := parseCalls(r.helperCalls())
	switch {
	case res.err == nil:
		r.expectCalls(want{"get", host, "found"})
	case len(calls) == 0:
		r.res.Status = NotApplicable
		r.res.Note = "skopeo " + r.res.Version + " ignores credsStore (it never called the helper); configure the helper under credHelpers"
		r.t.Log(r.res.Note)
	default:
		r.failf("skopeo inspect failed after calling the helper: %v\nclient stderr:\n%s", res.err, indent(res.stderr))
	}
	r.begin("erase")
	r.erase(host)
	r.expectList(map[string]string{})
}

// TestServe keeps the servers up for manual experiments when E2E_SERVE is
// set to a duration (e.g. E2E_SERVE=10m go test -run TestServe -v
// ./tests/e2e): it prints the hosts, the user's password and the CA file.
func TestServe(t *testing.T) {
	d := os.Getenv("E2E_SERVE")
	if d == "" {
		t.Skip("set E2E_SERVE to a duration to keep the servers up")
	}
	if skipReason != "" {
		t.Skip(skipReason)
	}
	dur, err := time.ParseDuration(d)
	if err != nil {
		t.Fatalf("E2E_SERVE: %v", err)
	}
	refresh, err := fx.refreshToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("basic registry: %s\ntoken registry: %s\nuser: %s\npassword: %s\nrefresh token: %s\nSSL_CERT_FILE=%s\nhelper: %s\nshim dir: %s",
		fx.basic.Host, fx.token.Host, testUser, fx.password, refresh, fx.caFile, helperBin, shimDir)
	time.Sleep(dur)
}
