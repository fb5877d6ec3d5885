// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// containersConfigs are where podman and buildah (containers/image) find
// the helper: credHelpers in containers' auth.json, written by the helper's
// own `configure --containers --registry HOST`, with DOCKER_CONFIG unset
// as most users have it; credHelpers in docker's config.json, with
// DOCKER_CONFIG set, which makes both log in through that file; and
// docker's credsStore, which containers/image does not read.
var containersConfigs = []string{"containers credHelpers", "docker credHelpers", "docker credsStore"}

// rootlessConfig is podman run by an unprivileged user (nobody, with no
// subuid ranges: podman maps that one user into its user namespace), the
// helper configured as for "containers credHelpers". podman starts the
// helper inside its user namespace.
const rootlessConfig = "containers credHelpers (rootless)"

// rootlessUID is the user of the rootless rows.
const rootlessUID = 65534

// containersEnv prepares a podman or buildah row: its own image storage
// below the row's directory (rows run in parallel, as root), and for
// auth.json rows no DOCKER_CONFIG, so that the clients use
// $XDG_RUNTIME_DIR/containers/auth.json, the helper's configure included.
func containersEnv(r *row) {
	if strings.HasPrefix(r.config, "containers ") {
		env := r.env[:0:0]
		for _, kv := range r.env {
			if !strings.HasPrefix(kv, "DOCKER_CONFIG=") {
				env = append(env, kv)
			}
		}
		r.env = env
	}
	// podman refuses a runroot longer than 50 bytes; t.TempDir's are.
	short, err := os.MkdirTemp("", "e2e-run-")
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { os.RemoveAll(short) })
	r.runRoot = short
	if r.config == rootlessConfig {
		rootless(r)
	}
	if r.config == "docker credHelpers" {
		r.res.Note = r.client + " logs in through $DOCKER_CONFIG/config.json when DOCKER_CONFIG is set (this row); without it, it only reads ~/.docker/config.json, after auth.json, and a login saves the password in auth.json in plain text"
	}
}

// podmanArgs are podman's global flags for a row: storage of its own, vfs
// (no overlay mounts in a container), cgroupfs and a file event log (no
// systemd).
func (r *row) podmanArgs(args ...string) []string {
	return append([]string{
		"--root", filepath.Join(r.dir, "storage"), "--runroot", r.runRoot,
		"--tmpdir", filepath.Join(r.dir, "podman-tmp"), "--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs", "--events-backend", "file",
	}, args...)
}

// buildahArgs are buildah's global flags for a row, as podmanArgs.
func (r *row) buildahArgs(args ...string) []string {
	return append([]string{
		"--root", filepath.Join(r.dir, "storage"), "--runroot", r.runRoot,
		"--storage-driver", "vfs",
	}, args...)
}

// configureContainers runs the helper's configure for the registry, as a
// podman user would, and checks what it wrote where podman reads it.
func (r *row) configureContainers() {
	r.t.Helper()
	host := r.ep.Host
	r.begin("configure --containers --registry")
	if out, code := r.helper("", "configure", "--containers", "--registry", host); code != 0 {
		r.failf("configure --containers: exit %d:\n%s", code, indent(out))
	}
	for _, p := range []string{
		filepath.Join(r.dir, "run", "containers", "auth.json"),
		filepath.Join(r.home, ".config", "containers", "auth.json"),
	} {
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), `"`+host+`": "`+helperSuffix+`"`) {
			r.failf("configure --containers left %s without a credHelpers entry for %s: %q, %v", p, host, b, err)
		}
	}
}

// containersLogin configures the helper as the row says and logs in with
// the client's own login (a password) or through the helper (an identity
// token, which no client logs in with).
func (r *row) containersLogin(args func(...string) []string) {
	r.t.Helper()
	if strings.HasPrefix(r.config, "containers ") {
		r.configureContainers()
	}
	if r.scheme == "identity-token" {
		r.login(r.client)
		return
	}
	r.login(r.client, args("login", "--username", r.user, "--password-stdin", r.ep.Host)...)
	r.expectCalls(want{"store", "", "ok"})
}

// runPodman: configure, login, import an image, push, remove, pull,
// logout.
func runPodman(r *row) {
	containersEnv(r)
	if r.config == "docker credsStore" {
		containersIgnoreCredsStore(r, r.podmanArgs)
		return
	}
	host := r.ep.Host
	ref := host + "/" + r.repo("") + ":v1"
	layer, _ := imageLayer(r.repo(""))
	if err := os.WriteFile(filepath.Join(r.work, "layer.tar"), layer, 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.containersLogin(r.podmanArgs)

	r.run("import", "", "podman", r.podmanArgs("import", "--quiet", "layer.tar", ref)...)
	r.run("push", "", "podman", r.podmanArgs("push", "--quiet", ref)...)
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()

	r.run("rmi", "", "podman", r.podmanArgs("rmi", ref)...)
	r.run("pull", "", "podman", r.podmanArgs("pull", "--quiet", ref)...)
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()
	out := r.run("image inspect", "", "podman", r.podmanArgs("image", "inspect", "--format", "{{.RepoTags}}", ref)...)
	if !strings.Contains(out, ref) {
		r.failf("podman image inspect after the pull shows %q, want %s", strings.TrimSpace(out), ref)
	}

	r.run("logout", "", "podman", r.podmanArgs("logout", host)...)
	r.expectCalls(want{"erase", host, "ok"})
	r.expectList(map[string]string{})
}

// runBuildah: configure, login, build an image from scratch (no container
// runs), push, remove, pull, logout.
func runBuildah(r *row) {
	containersEnv(r)
	if r.config == "docker credsStore" {
		containersIgnoreCredsStore(r, r.buildahArgs)
		return
	}
	host := r.ep.Host
	ref := host + "/" + r.repo("") + ":v1"
	content := "hello from buildah " + r.config + " " + r.scheme + "\n"
	if err := os.WriteFile(filepath.Join(r.work, "hello.txt"), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.containersLogin(r.buildahArgs)

	ctr := strings.TrimSpace(r.run("from scratch", "", "buildah", r.buildahArgs("from", "scratch")...))
	r.run("copy", "", "buildah", r.buildahArgs("copy", ctr, "hello.txt", "/")...)
	r.run("commit", "", "buildah", r.buildahArgs("commit", "--quiet", "--rm", ctr, ref)...)
	r.run("push", "", "buildah", r.buildahArgs("push", "--quiet", ref)...)
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()

	r.run("rmi", "", "buildah", r.buildahArgs("rmi", ref)...)
	r.run("pull", "", "buildah", r.buildahArgs("pull", "--quiet", ref)...)
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()
	// The pulled image holds the file that was pushed.
	ctr = strings.TrimSpace(r.run("from the pulled image", "", "buildah", r.buildahArgs("from", ref)...))
	mnt := strings.TrimSpace(r.run("mount", "", "buildah", r.buildahArgs("mount", ctr)...))
	if got, err := os.ReadFile(filepath.Join(mnt, "hello.txt")); err != nil || string(got) != content {
		r.failf("the pulled image does not hold the pushed file: %q, %v", got, err)
	}
	r.run("rm", "", "buildah", r.buildahArgs("rm", ctr)...)

	r.run("logout", "", "buildah", r.buildahArgs("logout", host)...)
	r.expectCalls(want{"erase", host, "ok"})
	r.expectList(map[string]string{})
}

// containersIgnoreCredsStore checks that containers/image reads no
// credsStore, as skopeo's row does: with the credential in the helper, a
// pull that fails without asking the helper makes the row n/a; a client
// that asks the helper and succeeds passes.
func containersIgnoreCredsStore(r *row, args func(...string) []string) {
	host := r.ep.Host
	repo := r.repo("")
	r.begin("seed an image")
	if _, err := fx.seed(context.Background(), host, repo, "v1"); err != nil {
		r.failf("failed to push the image to pull: %v", err)
	}
	r.login(r.client)
	r.begin("pull")
	res := r.exec("", r.client, args("pull", "--quiet", host+"/"+repo+":v1")...)
	calls := parseCalls(r.helperCalls())
	switch {
	case res.err == nil:
		r.expectCalls(want{"get", host, "found"})
	case len(calls) == 0:
		r.res.Status = NotApplicable
		r.res.Note = r.client + " " + r.res.Version + " reads no credsStore (containers/image; it never called the helper); configure the helper under credHelpers"
		r.t.Log(r.res.Note)
	default:
		r.failf("%s pull failed after calling the helper: %v\nclient stderr:\n%s", r.client, res.err, indent(res.stderr))
	}
	r.begin("erase")
	r.erase(host)
	r.expectList(map[string]string{})
}

// rootless makes a row run as rootlessUID: it owns the row's directory and
// runroot, reaches the shim, the helper and a copy of the test CA, and its
// PATH holds only the shim and the system's directories (podman is
// Debian's). podman leaves a pause process holding its user namespace;
// the row stops it.
func rootless(r *row) {
	r.t.Helper()
	r.uid = rootlessUID
	ca := filepath.Join(r.dir, "ca.pem")
	if err := os.WriteFile(ca, fx.caPEM, 0o644); err != nil {
		r.t.Fatal(err)
	}
	// The directories above the row's and the helper's are the test's
	// own temporary directories (0700): let the user through them.
	for _, d := range []string{filepath.Dir(r.dir), filepath.Dir(shimDir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			r.t.Fatal(err)
		}
	}
	for _, d := range []string{r.dir, r.runRoot} {
		err := filepath.WalkDir(d, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, rootlessUID, rootlessUID)
		})
		if err != nil {
			r.t.Fatal(err)
		}
	}
	r.env = append(r.env, "SSL_CERT_FILE="+ca, "PATH="+shimDir+":/usr/sbin:/usr/bin:/sbin:/bin")
	if r.res.Backend == "keychain" {
		// The row's session bus and gnome-keyring run as its user too.
		r.res.Keychain = keychain
		r.startKeychain()
	}
	r.t.Cleanup(func() {
		_ = filepath.WalkDir(r.dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Name() == "pause.pid" {
				if b, err := os.ReadFile(path); err == nil {
					if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
						_ = syscall.Kill(pid, syscall.SIGKILL)
					}
				}
			}
			return nil
		})
	})
}
