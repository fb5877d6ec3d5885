package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/config"
)

// onboarding is a user's home with docker's and notation's config
// directories and a store that faults can be injected into.
type onboarding struct {
	home, bin string
	vars      map[string]string
	store     *faultyStore
	openErr   error
	wrap      func(helper.Store) helper.Store
}

func newOnboarding(t *testing.T) *onboarding {
	t.Helper()
	root := t.TempDir()
	w := &onboarding{
		home:  filepath.Join(root, "home"),
		bin:   filepath.Join(root, "bin"),
		store: newFaultyStore(),
	}
	for _, d := range []string{w.home, w.bin} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	w.vars = map[string]string{
		"HOME":              w.home,
		"USERPROFILE":       w.home,
		"AppData":           filepath.Join(w.home, "AppData"),
		"XDG_CONFIG_HOME":   filepath.Join(w.home, ".config"),
		"XDG_RUNTIME_DIR":   filepath.Join(root, "run"),
		config.EnvStoreDir:  filepath.Join(root, "store"),
		"PATH":              w.bin,
		config.EnvBackend:   config.BackendFile,
		config.EnvKeySource: "generated",
	}
	return w
}

func (w *onboarding) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{
		Stdin:   strings.NewReader(""),
		Stdout:  &out,
		Stderr:  &errb,
		Getenv:  func(k string) string { return w.vars[k] },
		Version: "v1.2.3",
		Package: "example.com/dcn",
		OpenStore: func(context.Context, *config.Config, *Env) (*Opened, error) {
			if w.openErr != nil {
				return nil, w.openErr
			}
			if w.wrap != nil {
				return &Opened{Store: w.wrap(w.store)}, nil
			}
			return &Opened{Store: w.store}, nil
		},
	}
	code = Run(context.Background(), append([]string{Name}, args...), env)
	return code, out.String(), errb.String()
}

func (w *onboarding) dockerConfig() string {
	return filepath.Join(w.home, ".docker", "config.json")
}

func (w *onboarding) notationConfig() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(w.vars["AppData"], "notation", "config.json")
	}
	if runtime.GOOS == "darwin" {
		return filepath.Join(w.home, "Library", "Application Support", "notation", "config.json")
	}
	return filepath.Join(w.vars["XDG_CONFIG_HOME"], "notation", "config.json")
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const configured = `{
	"auths": {
		"ghcr.io": {}
	},
	"credsStore": "desktop",
	"experimental": "enabled",
	"plugins": {
		"x": {
			"y": "z"
		}
	}
}`

func TestConfigureAndUndo(t *testing.T) {
	w := newOnboarding(t)
	writeFile(t, w.dockerConfig(), configured, 0o640)

	code, out, errOut := w.run(t, "configure")
	if code != 0 {
		t.Fatalf("configure: exit %d\n%s%s", code, out, errOut)
	}
	want := strings.Replace(configured, `"credsStore": "desktop"`, `"credsStore": "notation"`, 1)
	if got := readFile(t, w.dockerConfig()); got != want {
		t.Errorf("docker config:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(out, `set "credsStore" to "notation" (was "desktop")`) {
		t.Errorf("configure does not report the change:\n%s", out)
	}
	if got := readFile(t, w.notationConfig()); got != "{\n\t\"credsStore\": \"notation\"\n}" {
		t.Errorf("notation config = %q", got)
	}
	if runtime.GOOS != "windows" {
		for p, mode := range map[string]os.FileMode{w.dockerConfig(): 0o640, w.notationConfig(): 0o600, filepath.Dir(w.notationConfig()): 0o700} {
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != mode {
				t.Errorf("%s: mode %v, %v; want %04o", p, fi.Mode().Perm(), err, mode)
			}
		}
	}

	// Again: nothing to change, and the backup keeps the first value.
	code, out, _ = w.run(t, "configure")
	if code != 0 || !strings.Contains(out, "nothing to change") {
		t.Errorf("second configure: exit %d\n%s", code, out)
	}

	code, out, errOut = w.run(t, "configure", "--undo")
	if code != 0 {
		t.Fatalf("undo: exit %d\n%s%s", code, out, errOut)
	}
	if got := readFile(t, w.dockerConfig()); got != configured {
		t.Errorf("docker config after undo:\n%s\nwant the original:\n%s", got, configured)
	}
	if got := readFile(t, w.notationConfig()); got != "{}" {
		t.Errorf("notation config after undo = %q, want {}", got)
	}
	for _, p := range []string{w.dockerConfig(), w.notationConfig()} {
		if _, err := os.Stat(p + backupSuffix); !os.IsNotExist(err) {
			t.Errorf("backup %s left after undo: %v", p+backupSuffix, err)
		}
	}
	code, out, _ = w.run(t, "configure", "--undo")
	if code != 0 || !strings.Contains(out, "nothing to undo") {
		t.Errorf("second undo: exit %d\n%s", code, out)
	}
}

func TestConfigureMisspelling(t *testing.T) {
	w := newOnboarding(t)
	writeFile(t, w.dockerConfig(), `{"credStore":"notation","x":[1]}`, 0o600)
	code, out, errOut := w.run(t, "configure", "--docker")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, `found "credStore" ("notation"), a misspelling of "credsStore"`) {
		t.Errorf("no warning about the misspelling:\n%s", out)
	}
	got := readFile(t, w.dockerConfig())
	if strings.Contains(got, `"credStore"`) || !strings.Contains(got, `"credsStore": "notation"`) || !strings.Contains(got, `"x": [`) {
		t.Errorf("docker config:\n%s", got)
	}
	if _, err := os.Stat(w.notationConfig()); !os.IsNotExist(err) {
		t.Errorf("--docker touched notation's config: %v", err)
	}
}

func TestConfigureRegistryDryRun(t *testing.T) {
	w := newOnboarding(t)
	writeFile(t, w.dockerConfig(), configured, 0o600)
	code, out, errOut := w.run(t, "configure", "--docker", "--registry", "ghcr.io", "--registry", "reg.example:5000", "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"--- " + w.dockerConfig(), `+	"credHelpers": {`, `+		"ghcr.io": "notation",`, `+		"reg.example:5000": "notation"`} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if got := readFile(t, w.dockerConfig()); got != configured {
		t.Errorf("dry run wrote the file:\n%s", got)
	}
	if _, err := os.Stat(w.dockerConfig() + backupSuffix); !os.IsNotExist(err) {
		t.Errorf("dry run wrote a backup: %v", err)
	}

	if code, out, errOut := w.run(t, "configure", "--docker", "--registry", "ghcr.io"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	got := readFile(t, w.dockerConfig())
	if !strings.Contains(got, `"credsStore": "desktop"`) || !strings.Contains(got, "\"credHelpers\": {\n\t\t\"ghcr.io\": \"notation\"\n\t}") {
		t.Errorf("docker config:\n%s", got)
	}
	if code, out, errOut := w.run(t, "configure", "--docker", "--undo"); code != 0 {
		t.Fatalf("undo: exit %d\n%s%s", code, out, errOut)
	}
	if got := readFile(t, w.dockerConfig()); got != configured {
		t.Errorf("after undo:\n%s", got)
	}
}

// podmanAuth is an auth.json as podman writes it: a login, a credential
// helper for another registry, a field this helper does not know.
const podmanAuth = `{
	"auths": {
		"quay.io": {
			"auth": "Ym9iOnB3"
		}
	},
	"credHelpers": {
		"registry.example": "secretservice"
	},
	"zz": [1, 2]
}`

func (w *onboarding) containersAuth() (runtimeFile, persistent string) {
	return filepath.Join(w.vars["XDG_RUNTIME_DIR"], "containers", "auth.json"),
		filepath.Join(w.vars["XDG_CONFIG_HOME"], "containers", "auth.json")
}

func TestConfigureContainers(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the Linux layout: a runtime file and a persistent one")
	}
	w := newOnboarding(t)
	runtimeFile, persistent := w.containersAuth()
	writeFile(t, persistent, podmanAuth, 0o600)

	// No --registry: auth.json takes no credsStore, so nothing changes
	// there and configure says why; docker's and notation's get theirs.
	code, out, errOut := w.run(t, "configure")
	if code != 0 {
		t.Fatalf("configure: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, persistent+`: containers' auth.json has no "credsStore"`) || !strings.Contains(out, "--registry HOST") {
		t.Errorf("configure does not say why auth.json is left alone:\n%s", out)
	}
	if got := readFile(t, persistent); got != podmanAuth {
		t.Errorf("configure without --registry changed %s:\n%s", persistent, got)
	}
	if _, err := os.Stat(runtimeFile); !os.IsNotExist(err) {
		t.Errorf("configure without --registry created %s: %v", runtimeFile, err)
	}
	if got := readFile(t, w.dockerConfig()); !strings.Contains(got, `"credsStore": "notation"`) {
		t.Errorf("docker config = %q", got)
	}

	// A dry run shows both files' change and writes nothing.
	code, out, errOut = w.run(t, "configure", "--containers", "--registry", "127.0.0.1:5000", "--registry", "registry.example", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"--- /dev/null", "+++ " + runtimeFile, "--- " + persistent,
		`-		"registry.example": "secretservice"`, `+		"registry.example": "notation",`, `+		"127.0.0.1:5000": "notation"`,
		runtimeFile + ": note: a reboot empties this directory"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(runtimeFile); !os.IsNotExist(err) {
		t.Errorf("dry run created %s: %v", runtimeFile, err)
	}
	if got := readFile(t, persistent); got != podmanAuth {
		t.Errorf("dry run wrote %s:\n%s", persistent, got)
	}

	code, out, errOut = w.run(t, "configure", "--containers", "--registry", "127.0.0.1:5000", "--registry", "registry.example")
	if code != 0 {
		t.Fatalf("configure --containers: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, `set "credHelpers"["registry.example"] to "notation" (was "secretservice")`) {
		t.Errorf("configure does not report the replaced helper:\n%s", out)
	}
	// Key order and the other fields kept; the new entry after the old.
	want := strings.Replace(podmanAuth, `"registry.example": "secretservice"`, `"registry.example": "notation",
		"127.0.0.1:5000": "notation"`, 1)
	want = strings.Replace(want, `"zz": [1, 2]`, "\"zz\": [\n\t\t1,\n\t\t2\n\t]", 1)
	if got := readFile(t, persistent); got != want {
		t.Errorf("%s:\n%s\nwant:\n%s", persistent, got, want)
	}
	if got, want := readFile(t, runtimeFile), "{\n\t\"credHelpers\": {\n\t\t\"127.0.0.1:5000\": \"notation\",\n\t\t\"registry.example\": \"notation\"\n\t}\n}"; got != want {
		t.Errorf("%s = %q, want %q", runtimeFile, got, want)
	}
	for p, mode := range map[string]os.FileMode{runtimeFile: 0o600, filepath.Dir(runtimeFile): 0o700, persistent: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, %v; want %04o", p, fi.Mode().Perm(), err, mode)
		}
	}
	if _, err := os.Stat(w.notationConfig()); err != nil {
		t.Fatalf("the first configure wrote no notation config: %v", err)
	}
	notation := readFile(t, w.notationConfig())

	code, out, errOut = w.run(t, "configure", "--containers", "--undo")
	if code != 0 {
		t.Fatalf("undo: exit %d\n%s%s", code, out, errOut)
	}
	if got, want := readFile(t, persistent), strings.Replace(podmanAuth, `"zz": [1, 2]`, "\"zz\": [\n\t\t1,\n\t\t2\n\t]", 1); got != want {
		t.Errorf("%s after undo:\n%s\nwant:\n%s", persistent, got, want)
	}
	if got := readFile(t, runtimeFile); strings.Contains(got, "notation") {
		t.Errorf("%s after undo still names this helper:\n%s", runtimeFile, got)
	}
	for _, p := range []string{runtimeFile, persistent} {
		if _, err := os.Stat(p + backupSuffix); !os.IsNotExist(err) {
			t.Errorf("backup %s left after undo: %v", p+backupSuffix, err)
		}
	}
	if got := readFile(t, w.notationConfig()); got != notation {
		t.Errorf("--containers --undo touched notation's config:\n%s", got)
	}
}

func TestConfigureContainersAuthFile(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the Linux layout")
	}
	w := newOnboarding(t)
	authFile := filepath.Join(w.home, "auth.json")
	w.vars["REGISTRY_AUTH_FILE"] = authFile
	code, out, errOut := w.run(t, "configure", "--containers", "--registry", "ghcr.io")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if got := readFile(t, authFile); got != "{\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"notation\"\n\t}\n}" {
		t.Errorf("$REGISTRY_AUTH_FILE = %q", got)
	}
	runtimeFile, persistent := w.containersAuth()
	for _, p := range []string{runtimeFile, persistent} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("with $REGISTRY_AUTH_FILE set, configure wrote %s: %v", p, err)
		}
	}
}

func TestConfigureHelm(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the Linux layout")
	}
	w := newOnboarding(t)
	helm := filepath.Join(w.vars["XDG_CONFIG_HOME"], "helm", "registry", "config.json")
	const helmConfig = "{\n\t\"auths\": {},\n\t\"credsStore\": \"pass\",\n\t\"x\": 1\n}"
	writeFile(t, helm, helmConfig, 0o600)
	code, out, errOut := w.run(t, "configure", "--helm")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if want := strings.Replace(helmConfig, `"pass"`, `"notation"`, 1); readFile(t, helm) != want {
		t.Errorf("%s:\n%s\nwant:\n%s", helm, readFile(t, helm), want)
	}
	if _, err := os.Stat(w.dockerConfig()); !os.IsNotExist(err) {
		t.Errorf("--helm touched docker's config: %v", err)
	}
	if code, out, errOut := w.run(t, "configure", "--helm", "--undo"); code != 0 {
		t.Fatalf("undo: exit %d\n%s%s", code, out, errOut)
	}
	if got := readFile(t, helm); got != helmConfig {
		t.Errorf("%s after undo:\n%s\nwant:\n%s", helm, got, helmConfig)
	}

	// Pointed at docker's file, helm's config is edited once, as docker's.
	w.vars["HELM_REGISTRY_CONFIG"] = w.dockerConfig()
	code, out, errOut = w.run(t, "configure", "--docker", "--helm")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if n := strings.Count(out, w.dockerConfig()+": set"); n != 1 {
		t.Errorf("configure reports %d changes of %s, want 1:\n%s", n, w.dockerConfig(), out)
	}
}

// With $DOCKER_CONFIG set, podman logs in through docker's config.json:
// configure edits that file once, and no auth.json.
func TestConfigureContainersDockerConfig(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skip("the Linux layout")
	}
	w := newOnboarding(t)
	w.vars["DOCKER_CONFIG"] = filepath.Join(w.home, "dc")
	code, out, errOut := w.run(t, "configure", "--registry", "ghcr.io")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	docker := filepath.Join(w.home, "dc", "config.json")
	if n := strings.Count(out, docker+": set"); n != 1 {
		t.Errorf("configure reports %d changes of %s, want 1:\n%s", n, docker, out)
	}
	if got := readFile(t, docker); got != "{\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"notation\"\n\t}\n}" {
		t.Errorf("%s = %q", docker, got)
	}
	runtimeFile, persistent := w.containersAuth()
	for _, p := range []string{runtimeFile, persistent} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("with $DOCKER_CONFIG set, configure wrote %s: %v", p, err)
		}
	}
}

func TestConfigureRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, w *onboarding)
		msg   string
	}{
		{
			name:  "invalid JSON",
			setup: func(t *testing.T, w *onboarding) { writeFile(t, w.dockerConfig(), `{"auths":`, 0o600) },
			msg:   "not valid JSON",
		},
		{
			name: "symlink",
			setup: func(t *testing.T, w *onboarding) {
				target := filepath.Join(w.home, "real.json")
				writeFile(t, target, configured, 0o600)
				if err := os.MkdirAll(filepath.Dir(w.dockerConfig()), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, w.dockerConfig()); err != nil {
					t.Skip("no symlinks:", err)
				}
			},
			msg: "is a symbolic link",
		},
		{
			name: "read-only",
			setup: func(t *testing.T, w *onboarding) {
				if runtime.GOOS == "windows" {
					t.Skip("mode bits")
				}
				writeFile(t, w.dockerConfig(), configured, 0o400)
			},
			msg: "read-only",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newOnboarding(t)
			tt.setup(t, w)
			before, _ := os.ReadFile(w.dockerConfig())
			code, out, errOut := w.run(t, "configure")
			if code != 1 || !strings.Contains(errOut, tt.msg) || !strings.Contains(errOut, w.dockerConfig()) {
				t.Errorf("exit %d, stderr %q; want 1 and an error naming the file and saying %q\n%s", code, errOut, tt.msg, out)
			}
			if !strings.Contains(errOut, "hint:") && tt.name != "invalid JSON" {
				t.Errorf("no hint:\n%s", errOut)
			}
			if after, _ := os.ReadFile(w.dockerConfig()); !bytes.Equal(before, after) {
				t.Errorf("file changed to %q", after)
			}
		})
	}
}

func TestConfigureUndoAfterHandEdit(t *testing.T) {
	w := newOnboarding(t)
	writeFile(t, w.dockerConfig(), `{"credsStore":"desktop"}`, 0o600)
	for _, step := range []struct {
		args []string
		edit string
	}{
		{args: []string{"configure", "--docker"}},
		{edit: `{"credsStore":"pass"}`},
		{args: []string{"configure", "--docker"}},
		{args: []string{"configure", "--docker", "--undo"}},
	} {
		if step.edit != "" {
			writeFile(t, w.dockerConfig(), step.edit, 0o600)
			continue
		}
		if code, out, errOut := w.run(t, step.args...); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", step.args, code, out, errOut)
		}
	}
	if got := readFile(t, w.dockerConfig()); got != "{\n\t\"credsStore\": \"pass\"\n}" {
		t.Errorf("undo restored %q, want the setting from just before the last configure (pass)", got)
	}
}
