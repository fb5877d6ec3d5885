// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// stepTimeout bounds every client command: no step may hang the suite.
const stepTimeout = 2 * time.Minute

// identityUser is the username that marks a secret as an identity
// (refresh) token.
const identityUser = "<token>"

// row is one client x config mode x scheme run: its own HOME, docker and
// notation config, helper store and helper-call log.
type row struct {
	t      *testing.T
	client string
	config string // "docker credsStore", "notation credHelpers", …
	scheme string // "basic", "token", "identity-token"
	ep     endpoint
	// user and secret are the credential the row logs in with, or stores
	// through the helper for the identity-token scheme.
	user, secret string

	dir, home, work string
	dockerConfig    string // $DOCKER_CONFIG
	storeDir        string // $DOCKER_CREDENTIAL_NOTATION_STORE_DIR
	helperLog       string
	env             []string
	// kc is the row's own Secret Service when its backend is the
	// keychain, nil otherwise.
	kc *secretService
	// runRoot is podman's and buildah's runroot (a short path of its own).
	runRoot string
	// uid runs the row's clients and helper checks as that user (the
	// rootless podman rows); 0 means as the test.
	uid int

	// held is what the helper should hold between steps (list output).
	held map[string]string
	// seen are the secrets the helper returned: none may appear in a file
	// of the row's HOME.
	seen []string

	res     Result
	step    string
	logMark int64 // size of helperLog when the step began
	start   time.Time
}

// newRow sets up a row's private directories and environment and arranges
// for its result to be recorded when the subtest ends.
func newRow(t *testing.T, s spec) *row {
	client, config, scheme := s.client, s.config, s.scheme
	r := &row{t: t, client: client, config: config, scheme: scheme, start: time.Now()}
	r.res = Result{Client: client, Version: peers.version(client), Backend: s.backend, Scheme: scheme, Config: config,
		Servers: "registry " + peers.version("registry") + ", token-server " + peers.version("token-server")}
	t.Cleanup(r.record)

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
	path := append([]string{shimDir}, peers.dirs...)
	path = append(path, os.Getenv("PATH"))
	r.env = append(clientBaseEnv(),
		"PATH="+strings.Join(path, string(os.PathListSeparator)),
		"HOME="+r.home,
		"DOCKER_CONFIG="+r.dockerConfig,
		"XDG_CONFIG_HOME="+filepath.Join(r.home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(r.home, ".local", "share"),
		"XDG_CACHE_HOME="+filepath.Join(r.home, ".cache"),
		"XDG_RUNTIME_DIR="+run,
		// Explicit, so that the row tests the backend it names whatever
		// "auto" comes to mean.
		"DOCKER_CREDENTIAL_NOTATION_BACKEND="+s.backend,
		"DOCKER_CREDENTIAL_NOTATION_STORE_DIR="+r.storeDir,
		"E2E_HELPER_LOG="+r.helperLog,
		// Every client here trusts the test CA through SSL_CERT_FILE
		// (regctl is told with `regctl registry set --cacert`).
		"SSL_CERT_FILE="+fx.caFile,
		// No daemon: the docker CLI logs in by itself.
		"DOCKER_HOST=unix://"+filepath.Join(run, "no-docker-daemon.sock"),
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
	)
	switch scheme {
	case "basic":
		r.ep, r.user, r.secret = fx.basic, testUser, fx.password
	case "token", "namespaces":
		r.ep, r.user, r.secret = fx.token, testUser, fx.password
	case "workload":
		// Nothing is logged in: the helper exchanges the platform's token
		// (TestWorkload sets the rest up).
		r.ep, r.user = workloadEP, "oauth2accesstoken"
	case "identity-token":
		r.ep, r.user = fx.token, identityUser
		rt, err := fx.refreshToken(context.Background())
		if err != nil {
			r.begin("get a refresh token")
			r.failf("failed to get a refresh token from the token server: %v", err)
		}
		r.secret = rt
	default:
		t.Fatalf("unknown scheme %q", scheme)
	}
	r.writeConfig()
	// A rootless row starts its keychain once its user owns the row
	// (rootless, in containers_test.go).
	if s.backend == "keychain" && s.config != rootlessConfig {
		r.res.Keychain = keychain
		r.startKeychain()
	}
	return r
}

// clientBaseEnv is the test's environment without anything that would
// point a client at the real user's files, credentials or proxies.
func clientBaseEnv() []string {
	drop := []string{"HOME=", "PATH=", "DOCKER_", "XDG_", "REGISTRY_AUTH_FILE=", "REGCTL_",
		"SSL_CERT_", "NOTATION_", "ORAS_", "CONTAINERS_", "HELM_", "COSIGN_", "SIGSTORE_", "TUF_ROOT=",
		"E2E_", "DBUS_SESSION_BUS_ADDRESS="}
	var env []string
outer:
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY":
			continue
		}
		for _, p := range drop {
			if strings.HasPrefix(kv, p) {
				continue outer
			}
		}
		env = append(env, kv)
	}
	return env
}

// writeConfig configures the helper as r.config says: credsStore or a
// credHelpers entry for the registry, in docker's or notation's
// config.json.
func (r *row) writeConfig() {
	file, key, _ := strings.Cut(r.config, " ")
	if file == "containers" || file == "helm" {
		// The row runs the helper's configure, which writes auth.json or
		// helm's registry config.
		return
	}
	var cfg map[string]any
	switch key {
	case "credsStore":
		cfg = map[string]any{"credsStore": helperSuffix}
	case "credHelpers":
		cfg = map[string]any{"credHelpers": map[string]string{r.ep.Host: helperSuffix}}
	default:
		r.t.Fatalf("unknown config mode %q", r.config)
	}
	var path string
	switch file {
	case "docker":
		path = filepath.Join(r.dockerConfig, "config.json")
	case "notation":
		path = filepath.Join(r.home, ".config", "notation", "config.json")
	default:
		r.t.Fatalf("unknown config file %q", file)
	}
	b, _ := json.MarshalIndent(cfg, "", "\t")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// repoSafe spells a config mode in a repository name.
var repoSafe = strings.NewReplacer(" ", "-", "(", "", ")", "")

// repo is the row's own repository name; the token server grants scopes
// only under the user's name.
func (r *row) repo(suffix string) string {
	name := strings.ToLower(r.client + "-" + repoSafe.Replace(r.config) + "-" + r.scheme)
	if suffix != "" {
		name += "-" + suffix
	}
	return testUser + "/" + name
}

// begin starts a step: later failures name it and show the helper calls
// made since.
func (r *row) begin(step string) {
	r.step = step
	r.res.Steps = append(r.res.Steps, step)
	r.logMark = 0
	if fi, err := os.Stat(r.helperLog); err == nil {
		r.logMark = fi.Size()
	}
}

// helperCalls is what the shim logged since the step began.
func (r *row) helperCalls() string {
	b, err := os.ReadFile(r.helperLog)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ""
		}
		return err.Error()
	}
	if int64(len(b)) < r.logMark {
		return string(b)
	}
	return string(b[r.logMark:])
}

// failf ends the row: it prints the client, the step, the message and the
// helper calls seen during the step.
func (r *row) failf(format string, args ...any) {
	r.t.Helper()
	msg := fmt.Sprintf(format, args...)
	r.res.Status = Fail
	r.res.Step = r.step
	if r.res.Note == "" {
		first, _, _ := strings.Cut(msg, "\n")
		r.res.Note = first
	}
	calls := r.helperCalls()
	if strings.TrimSpace(calls) == "" {
		calls = "(none)"
	}
	r.t.Fatalf("\nclient:  %s %s (config: %s, scheme: %s, backend: %s, registry: %s)\nstep:    %s\n%s\nhelper calls during this step:\n%s",
		r.client, r.res.Version, r.config, r.scheme, r.res.Backend, r.ep.Host, r.step, msg, indent(calls))
}

// record writes the row's result.
func (r *row) record() {
	switch {
	case r.t.Failed():
		if r.res.Status != Fail {
			r.res.Status, r.res.Step = Fail, r.step
		}
	case r.res.Status == "":
		r.res.Status = Pass
	}
	if r.t.Skipped() && r.res.Status == Pass {
		r.res.Status = Skip
	}
	r.res.Seconds = time.Since(r.start).Round(10 * time.Millisecond).Seconds()
	if err := results.Write(r.res); err != nil {
		r.t.Errorf("failed to record the result: %v", err)
	}
	summary.add(r.res)
}

// cmdResult is one client run.
type cmdResult struct {
	stdout, stderr string
	err            error
}

// exec runs a peer in the row's environment and work directory, in its own
// process group, killed with its children (the helper) on timeout.
func (r *row) exec(stdin, name string, args ...string) cmdResult {
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	path := reachablePath(name, r.credential())
	if path == "" {
		path = name
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = r.env
	cmd.Dir = r.work
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: r.credential()}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %v", stepTimeout, err)
	}
	return cmdResult{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// run is a client step that must succeed; it returns the client's stdout.
// stdin carries passwords: they never go in argv.
func (r *row) run(step, stdin, name string, args ...string) string {
	r.t.Helper()
	r.begin(step)
	res := r.exec(stdin, name, args...)
	if res.err != nil {
		r.res.Note = fmt.Sprintf("%s %s: %v: %s", name, strings.Join(displayArgs(args), " "), res.err, lastLine(res.stderr))
		r.failf("command: %s %s\nfailed:  %v\nclient stderr:\n%s\nclient stdout:\n%s",
			name, strings.Join(displayArgs(args), " "), res.err, indent(res.stderr), indent(res.stdout))
	}
	return res.stdout
}

// helper runs the real helper (not the shim) in the row's environment: the
// checks read the store through a second process.
func (r *row) helper(stdin string, args ...string) (stdout string, code int) {
	r.t.Helper()
	cmd := exec.Command(helperBin, args...)
	cmd.Env = r.env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.credential()}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	default:
		r.failf("failed to run %s %v: %v", helperName, args, err)
	}
	if errb.Len() > 0 && code != 0 {
		return out.String() + errb.String(), code
	}
	return out.String(), code
}

// expectList checks `list` returns exactly want.
func (r *row) expectList(want map[string]string) {
	r.t.Helper()
	out, code := r.helper("unused", "list")
	if code != 0 {
		r.failf("helper list after %q: exit %d: %s", r.step, code, out)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		r.failf("helper list after %q printed %q: %v", r.step, out, err)
	}
	if !maps.Equal(got, want) {
		r.failf("helper list after %q: got %v, want %v", r.step, redactList(got), redactList(want))
	}
	if r.kc == nil {
		return
	}
	// The keychain: every entry's secret, as the helper returns it, is in
	// gnome-keyring and in no file; an empty helper leaves none behind.
	if len(got) == 0 {
		r.expectGoneFromKeychain()
		return
	}
	var secrets []string
	for serverURL := range got {
		secrets = append(secrets, r.getSecret(serverURL))
	}
	r.expectInKeychain(secrets...)
}

// expectGet checks that `get serverURL` returns user and, when secret is
// not empty, that secret. Secrets are compared, never printed.
func (r *row) expectGet(serverURL, user, secret string) {
	r.t.Helper()
	c := r.get(serverURL)
	switch {
	case c.Username != user:
		r.failf("helper get %s after %q: username %q, want %q", serverURL, r.step, c.Username, user)
	case c.Secret == "":
		r.failf("helper get %s after %q: empty secret", serverURL, r.step)
	case secret != "" && c.Secret != secret:
		r.failf("helper get %s after %q: the secret (%d bytes) is not the one the client was given", serverURL, r.step, len(c.Secret))
	}
	r.seen = append(r.seen, c.Secret)
	r.expectInKeychain(c.Secret)
}

// getSecret is the secret the helper returns for serverURL.
func (r *row) getSecret(serverURL string) string {
	r.t.Helper()
	c := r.get(serverURL)
	if c.Secret == "" {
		r.failf("helper get %s after %q: empty secret", serverURL, r.step)
	}
	r.seen = append(r.seen, c.Secret)
	return c.Secret
}

// get runs the helper's get, which must succeed.
func (r *row) get(serverURL string) (c struct{ ServerURL, Username, Secret string }) {
	r.t.Helper()
	out, code := r.helper(serverURL, "get")
	if code != 0 {
		r.failf("helper get %s after %q: exit %d: %s", serverURL, r.step, code, strings.TrimSpace(out))
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		r.failf("helper get %s after %q: not JSON: %v", serverURL, r.step, err)
	}
	return c
}

// expectHeld checks that the helper still holds what it held before the
// step: clients read, they must not rewrite or drop entries.
func (r *row) expectHeld() {
	r.t.Helper()
	r.expectList(r.held)
}

// store writes an entry through the helper's own protocol, as a client's
// login would.
func (r *row) store(serverURL, user, secret string) {
	r.t.Helper()
	b, _ := json.Marshal(map[string]string{"ServerURL": serverURL, "Username": user, "Secret": secret})
	if out, code := r.helper(string(b), "store"); code != 0 {
		r.failf("helper store %s: exit %d: %s", serverURL, code, strings.TrimSpace(out))
	}
}

func (r *row) erase(serverURL string) {
	r.t.Helper()
	if out, code := r.helper(serverURL, "erase"); code != 0 {
		r.failf("helper erase %s: exit %d: %s", serverURL, code, strings.TrimSpace(out))
	}
}

// login puts the row's credential into the helper: through the client's
// own login command for a password, through the helper's store for an
// identity token (no client logs in with a refresh token), and checks what
// the helper holds afterwards. A client whose login is not wanted passes
// nil.
func (r *row) login(client string, args ...string) {
	r.t.Helper()
	if r.scheme == "identity-token" || args == nil {
		r.begin("store credential through the helper")
		r.store(r.ep.Host, r.user, r.secret)
	} else {
		r.run("login", r.secret, client, args...)
	}
	r.held = map[string]string{r.ep.Host: r.user}
	r.expectHeld()
	r.expectGet(r.ep.Host, r.user, r.secret)
}

// helperCall is one run of the helper as the shim logged it.
type helperCall struct {
	verb, url string
	trace     []string // the helper's debug trace and any other stderr
	exit      int      // -1 when the log ends before the exit line
}

func (c helperCall) String() string {
	s := c.verb
	if c.url != "" {
		s += " " + c.url
	}
	return s
}

// outcome is "found" or "ok" for success, "not found" for the protocol's
// not-found reply, "error" for any other failure.
func (c helperCall) outcome() string {
	switch {
	case c.exit == 0 && c.verb == "get":
		return "found"
	case c.exit == 0:
		return "ok"
	case c.exit == 1 && c.verb == "get" && strings.Contains(strings.Join(c.trace, "\n"), "credentials not found in native keychain"):
		return "not found"
	default:
		return "error"
	}
}

// parseCalls reads the shim's log: "> verb [url]", trace lines, "< exit N".
func parseCalls(log string) []helperCall {
	var calls []helperCall
	for _, line := range strings.Split(log, "\n") {
		switch {
		case strings.HasPrefix(line, "> "):
			verb, url, _ := strings.Cut(strings.TrimPrefix(line, "> "), " ")
			calls = append(calls, helperCall{verb: verb, url: url, exit: -1})
		case strings.HasPrefix(line, "< exit ") && len(calls) > 0:
			fmt.Sscanf(strings.TrimPrefix(line, "< exit "), "%d", &calls[len(calls)-1].exit)
		case line != "" && len(calls) > 0:
			calls[len(calls)-1].trace = append(calls[len(calls)-1].trace, line)
		}
	}
	return calls
}

// want is an expected helper call: verb, server URL (empty for list and
// store) and outcome ("found", "not found", "ok"; empty for any).
type want struct{ verb, url, outcome string }

func (w want) String() string {
	s := w.verb
	if w.url != "" {
		s += " " + w.url
	}
	if w.outcome != "" {
		s += " -> " + w.outcome
	}
	return s
}

// expectCalls checks that the client made, during the current step, calls
// matching wants in this order (other calls may come between them).
func (r *row) expectCalls(wants ...want) {
	r.t.Helper()
	calls := parseCalls(r.helperCalls())
	i := 0
	for _, c := range calls {
		if i == len(wants) {
			break
		}
		w := wants[i]
		if c.verb == w.verb && (w.url == "" || c.url == w.url) && (w.outcome == "" || c.outcome() == w.outcome) {
			i++
		}
	}
	if i < len(wants) {
		var seen []string
		for _, c := range calls {
			seen = append(seen, c.String()+" -> "+c.outcome())
		}
		r.failf("the client did not call the helper as expected: want %v in this order, first missing %v; saw %v", wants, wants[i], seen)
	}
}

// expectNoPlaintext fails if a secret appears in any file of the row: its
// HOME (config files must point at the helper, not hold credentials; a
// keychain row's gnome-keyring files are encrypted), the helper's store
// directory, the helper-call log and the clients' work directory.
func (r *row) expectNoPlaintext(secrets ...string) {
	r.t.Helper()
	r.begin("no secret in plain text")
	r.expectNotInFiles(r.dir, append(secrets, r.seen...)...)
}

// expectNotInFiles fails if a secret appears in any file under dir.
func (r *row) expectNotInFiles(dir string, secrets ...string) {
	r.t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == dir {
			return nil
		}
		if err != nil || !d.Type().IsRegular() {
			// Directories, and the daemons' sockets.
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if s != "" && bytes.Contains(b, []byte(s)) {
				r.failf("after %q %s holds a secret (%d bytes) in plain text", r.step, path, len(s))
			}
		}
		return nil
	})
	if err != nil {
		r.failf("failed to scan %s: %v", dir, err)
	}
}

// redactList is list output for a message; it holds usernames only.
func redactList(m map[string]string) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// displayArgs shortens long arguments (a PEM certificate) for messages.
func displayArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 100 || strings.Contains(a, "\n") {
			a = fmt.Sprintf("<%d bytes>", len(a))
		}
		out[i] = a
	}
	return out
}

// lastLine is the last non-empty line of s, at most 200 bytes: usually the
// client's error message.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	return l
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// seed pushes a one-layer image to host/repo:tag with oras-go and static
// credentials (not through the helper), for the rows that need something
// to sign, list or copy. It returns the manifest digest.
func (f *fixture) seed(ctx context.Context, host, repoName, tag string) (string, error) {
	return f.seedAs(ctx, host, repoName, tag, testUser, f.password)
}

// seedAs is seed with another user's credential.
func (f *fixture) seedAs(ctx context.Context, host, repoName, tag, user, password string) (string, error) {
	repo, err := remote.NewRepository(host + "/" + repoName)
	if err != nil {
		return "", err
	}
	repo.Client = &auth.Client{
		Client:     f.httpClient(),
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(host, auth.Credential{Username: user, Password: password}),
	}
	layer, diffID := imageLayer(repoName)
	layerDesc, err := oras.PushBytes(ctx, repo, "application/vnd.oci.image.layer.v1.tar", layer)
	if err != nil {
		return "", fmt.Errorf("push layer: %v", err)
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	configDesc, err := oras.PushBytes(ctx, repo, "application/vnd.oci.image.config.v1+json", config)
	if err != nil {
		return "", fmt.Errorf("push config: %v", err)
	}
	desc := func(mediaType, digest string, size int64) map[string]any {
		return map[string]any{"mediaType": mediaType, "digest": digest, "size": size}
	}
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        desc(configDesc.MediaType, configDesc.Digest.String(), configDesc.Size),
		"layers":        []any{desc(layerDesc.MediaType, layerDesc.Digest.String(), layerDesc.Size)},
	})
	m, err := oras.TagBytes(ctx, repo, "application/vnd.oci.image.manifest.v1+json", manifest, tag)
	if err != nil {
		return "", fmt.Errorf("push manifest: %v", err)
	}
	return m.Digest.String(), nil
}

// imageLayer is an uncompressed tar holding hello.txt, and its diff id.
func imageLayer(name string) ([]byte, string) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	content := []byte("hello from " + name + "\n")
	_ = tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
	_, _ = tw.Write(content)
	_ = tw.Close()
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), "sha256:" + hex.EncodeToString(sum[:])
}

// credential is the user the row's processes run as; nil: the test's.
func (r *row) credential() *syscall.Credential {
	if r.uid == 0 {
		return nil
	}
	return &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.uid)}
}
