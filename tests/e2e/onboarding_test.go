// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestOnboarding is the set-up a new user goes through, from a docker
// config.json with plaintext credentials for three registries to docker
// using the encrypted store:
//
//  1. `docker login` with no helper configured writes three plaintext
//     `auths` (the Basic registry, the token registry, where docker keeps an
//     identity token, and a third registry with a password of its own), and
//     docker reads the registries with them;
//  2. `import --remove-plaintext`, then `configure`;
//  3. config.json holds no secret and still holds every other field; the
//     store holds the same three credentials; docker (`docker manifest
//     inspect`: the CLI reads a registry without a daemon), crane and oras
//     read every registry through the helper; `doctor --json --registry …`
//     reports every check OK; no file anywhere holds a secret in plain text.
func TestOnboarding(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	ctx := context.Background()
	r := newOnboardingRow(t)
	third, thirdPassword := startExtraRegistry(t, ctx, filepath.Join(r.dir, "third"))

	registries := []struct {
		ep       endpoint
		password string
	}{
		{fx.basic, fx.password},
		{fx.token, fx.password},
		{third, thirdPassword},
	}
	repo := testUser + "/onboarding"
	r.begin("seed an image on each registry")
	for _, reg := range registries {
		f := *fx
		f.password = reg.password
		if _, err := f.seed(ctx, reg.ep.Host, repo, "v1"); err != nil {
			r.failf("failed to push an image to %s: %v", reg.ep.Host, err)
		}
	}

	// 1. A user who logged in before installing the helper.
	for _, reg := range registries {
		r.run("docker login without a helper", reg.password, "docker", "login", "--username", testUser, "--password-stdin", reg.ep.Host)
	}
	configPath := filepath.Join(r.dockerConfig, "config.json")
	before := readJSONFile(r, configPath)
	if _, ok := before["credsStore"]; ok {
		r.failf("docker login wrote a credsStore (%v): the test needs plaintext auths to start from", before["credsStore"])
	}
	creds := plaintextAuths(r, before)
	if len(creds) != 3 {
		r.failf("docker login left %d plaintext auths in config.json, want 3: %v", len(creds), sortedKeys(creds))
	}
	if c := creds[fx.token.Host]; c.user != identityUser {
		r.failf("docker login to the token registry stored username %q in plaintext, want an identity token", c.user)
	}
	if calls := strings.TrimSpace(r.helperCalls()); calls != "" {
		r.failf("docker called the helper before it was configured:\n%s", indent(calls))
	}
	var secrets []string
	for _, c := range creds {
		secrets = append(secrets, c.secret)
	}
	// A field this helper does not know must survive both commands.
	before["x-onboarding-test"] = map[string]any{"kept": true}
	writeJSONFile(r, configPath, before)
	for _, reg := range registries {
		r.run("docker manifest inspect with plaintext auths", "", "docker", "manifest", "inspect", reg.ep.Host+"/"+repo+":v1")
	}

	// 2. The two commands.
	r.begin("import --remove-plaintext")
	out, code := r.helper("", "import", "--remove-plaintext")
	if code != 0 || !strings.Contains(out, "3 imported, 0 already in the store, 0 skipped, 0 failed") {
		r.failf("import --remove-plaintext: exit %d:\n%s", code, indent(out))
	}
	r.begin("configure")
	if out, code := r.helper("", "configure"); code != 0 {
		r.failf("configure: exit %d:\n%s", code, indent(out))
	}

	// 3. What the user gets.
	r.begin("config.json after import and configure")
	after := readJSONFile(r, configPath)
	if after["credsStore"] != helperSuffix {
		r.failf("config.json has credsStore %v, want %q", after["credsStore"], helperSuffix)
	}
	if left := plaintextAuths(r, after); len(left) > 0 {
		r.failf("config.json still holds plaintext credentials for %v", sortedKeys(left))
	}
	if kept, _ := after["x-onboarding-test"].(map[string]any); kept == nil || kept["kept"] != true {
		r.failf("config.json lost a field the helper does not know: x-onboarding-test is %v", after["x-onboarding-test"])
	}
	r.expectNotInFiles(r.home, secrets...)

	r.begin("the store holds the same credentials")
	r.held = map[string]string{}
	for host, c := range creds {
		r.held[host] = c.user
	}
	r.expectHeld()
	for host, c := range creds {
		r.expectGet(host, c.user, c.secret)
	}

	for _, reg := range registries {
		host := reg.ep.Host
		ref := host + "/" + repo + ":v1"
		out := r.run("docker manifest inspect through the helper", "", "docker", "manifest", "inspect", ref)
		if !strings.Contains(out, `"schemaVersion": 2`) {
			r.failf("docker manifest inspect printed no manifest:\n%s", indent(out))
		}
		r.expectCalls(want{"get", host, "found"})

		r.run("crane manifest through the helper", "", "crane", "manifest", ref)
		// With credsStore crane asks for the repository first.
		r.expectCalls(want{"get", host + "/" + repo, "not found"}, want{"get", host, "found"})

		r.run("oras manifest fetch through the helper", "", "oras", "manifest", "fetch", ref)
		r.expectCalls(want{"get", host, "found"})
	}
	r.expectHeld()

	r.begin("doctor --json")
	args := []string{"doctor", "--json"}
	for _, reg := range registries {
		args = append(args, "--registry", reg.ep.Host)
	}
	rep, code := r.doctor(args...)
	var bad []string
	suggested := false
	for _, c := range rep.Checks {
		// A fresh file store keeps its generated key beside it: doctor
		// warns, and suggests protect (issue 14). Nothing else may be
		// below OK.
		if c.Status == "WARN" && c.Name == "protection" && strings.Contains(c.Fix, "protect") {
			suggested = true
			continue
		}
		if c.Status != "OK" {
			bad = append(bad, fmt.Sprintf("%s %s: %s (fix: %s)", c.Status, c.Name, c.Detail, c.Fix))
		}
	}
	if r.res.Backend == "file" && !suggested {
		r.failf("doctor did not suggest protect for the generated key beside the store")
	}
	if code != 0 || !rep.OK || len(bad) > 0 || len(rep.Checks) == 0 {
		r.failf("doctor: exit %d, ok %v, %d checks; not OK:\n%s", code, rep.OK, len(rep.Checks), indent(strings.Join(bad, "\n")))
	}
	registryChecks := 0
	for _, c := range rep.Checks {
		if c.Name == "registry" {
			registryChecks++
		}
	}
	if registryChecks != len(registries) {
		r.failf("doctor checked %d registries, want %d", registryChecks, len(registries))
	}

	r.expectNoPlaintext(secrets...)
}

// newOnboardingRow is a row like newRow's (its own HOME, docker config,
// helper store and helper-call log; the shim first on PATH) but with no
// helper configured and no result in the compatibility table.
func newOnboardingRow(t *testing.T) *row {
	r := &row{t: t, client: "docker", config: "docker plaintext auths", scheme: "onboarding", start: time.Now()}
	r.res = Result{Client: r.client, Backend: "file", Scheme: r.scheme, Config: r.config}
	r.dir = t.TempDir()
	r.home = filepath.Join(r.dir, "home")
	r.work = filepath.Join(r.dir, "work")
	r.dockerConfig = filepath.Join(r.home, ".docker")
	r.storeDir = filepath.Join(r.dir, "store")
	r.helperLog = filepath.Join(r.dir, "helper-calls.log")
	run := filepath.Join(r.dir, "run")
	for _, d := range []string{r.home, r.work, r.dockerConfig, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// docker picks a default helper when docker-credential-secretservice (or
	// pass and docker-credential-pass) is on PATH and no helper is
	// configured; the user here has none, so that docker login writes
	// plaintext.
	path := append([]string{shimDir}, peers.dirs...)
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if !fileExists(filepath.Join(d, "docker-credential-secretservice")) && !fileExists(filepath.Join(d, "docker-credential-pass")) {
			path = append(path, d)
		}
	}
	r.env = append(clientBaseEnv(),
		"PATH="+strings.Join(path, string(os.PathListSeparator)),
		"HOME="+r.home,
		"DOCKER_CONFIG="+r.dockerConfig,
		"XDG_CONFIG_HOME="+filepath.Join(r.home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(r.home, ".local", "share"),
		"XDG_CACHE_HOME="+filepath.Join(r.home, ".cache"),
		"XDG_RUNTIME_DIR="+run,
		"DOCKER_CREDENTIAL_NOTATION_BACKEND=file",
		"DOCKER_CREDENTIAL_NOTATION_STORE_DIR="+r.storeDir,
		"E2E_HELPER_LOG="+r.helperLog,
		"SSL_CERT_FILE="+fx.caFile,
		"DOCKER_HOST=unix://"+filepath.Join(run, "no-docker-daemon.sock"),
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	)
	return r
}

// startExtraRegistry starts one more Basic-auth registry, with a password
// of its own for testUser, stopped when the test ends.
func startExtraRegistry(t *testing.T, ctx context.Context, dir string) (endpoint, string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		t.Fatal(err)
	}
	password := hex.EncodeToString(pw)
	htpasswdFile := filepath.Join(dir, "htpasswd")
	cmd := exec.CommandContext(ctx, peers.path("htpasswd"), "-iBc", htpasswdFile, testUser)
	cmd.Stdin = strings.NewReader(password) // never argv
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("htpasswd: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ep := endpoint{Scheme: "basic", Host: fmt.Sprintf("127.0.0.1:%d", port)}
	cfg := registryConfig(filepath.Join(dir, "storage"), ep.Host, fmt.Sprintf(`  tls:
    certificate: %s
    key: %s
`, fx.certFile, fx.keyFile), fmt.Sprintf(`  htpasswd:
    realm: e2e-third
    path: %s
`, htpasswdFile))
	cfgFile := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := startProcess(dir, "registry-third", peers.path("registry"), "serve", cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	if err := fx.waitReady(ctx, ep); err != nil {
		t.Fatalf("%v\n--- registry-third, last lines:\n%s", err, tail(p.logFile, 20))
	}
	return ep, password
}

// doctorReport is the part of `doctor --json` the test reads.
type doctorReport struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name, Status, Detail, Fix string
	} `json:"checks"`
}

// doctor runs the helper's doctor with the helper itself first on PATH, as
// a user who installed it has it (the rows' PATH starts with the logging
// shim, which doctor rightly reports as another binary).
func (r *row) doctor(args ...string) (doctorReport, int) {
	r.t.Helper()
	env := append([]string{}, r.env...)
	for i, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			env[i] = "PATH=" + filepath.Dir(helperBin) + string(os.PathListSeparator) + strings.TrimPrefix(kv, "PATH=")
		}
	}
	cmd := exec.Command(helperBin, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else if err != nil {
		r.failf("failed to run %s %v: %v", helperName, args, err)
	}
	var rep doctorReport
	if err := json.Unmarshal(out, &rep); err != nil {
		r.failf("doctor --json printed no JSON (%v), exit %d:\n%s\nstderr:\n%s", err, code, indent(string(out)), indent(stderr.String()))
	}
	return rep, code
}

// plainCred is one plaintext credential of a config.json.
type plainCred struct{ user, secret string }

// plaintextAuths reads the credentials in a config.json's auths as docker
// would hand them to a helper: user and password from "auth" (base64
// user:password), or "<token>" and the "identitytoken".
func plaintextAuths(r *row, cfg map[string]any) map[string]plainCred {
	r.t.Helper()
	out := map[string]plainCred{}
	auths, _ := cfg["auths"].(map[string]any)
	for host, v := range auths {
		entry, _ := v.(map[string]any)
		if tok, _ := entry["identitytoken"].(string); tok != "" {
			out[host] = plainCred{identityUser, tok}
			continue
		}
		if a, _ := entry["auth"].(string); a != "" {
			b, err := base64.StdEncoding.DecodeString(a)
			if err != nil {
				r.failf("auths[%q].auth is not base64: %v", host, err)
			}
			user, pass, _ := strings.Cut(string(b), ":")
			if pass != "" {
				out[host] = plainCred{user, pass}
			}
		}
		if p, _ := entry["password"].(string); p != "" {
			out[host] = plainCred{fmt.Sprint(entry["username"]), p}
		}
	}
	return out
}

func readJSONFile(r *row, path string) map[string]any {
	r.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		r.failf("failed to read %s: %v", path, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		r.failf("%s is not a JSON object: %v", path, err)
	}
	return m
}

func writeJSONFile(r *row, path string, m map[string]any) {
	r.t.Helper()
	b, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		r.failf("failed to write %s: %v", path, err)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
