// Package packaging holds no Go code: these tests check the packaging
// definitions beside them (nfpm.yaml for make package, goreleaser.yaml for
// releases, the Homebrew and Scoop templates). The packages themselves are
// built, installed and used by smoke-deb.sh, which make integration (and
// so make test) runs.
package packaging

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// content is one file a package installs, as the definitions list it.
type content struct{ Src, Dst, Packager string }

// readContents reads the contents entries of a YAML file written in the
// block style these files use (src, dst, packager keys under "- src:"
// items), starting at the line that is exactly startKey.
func readContents(t *testing.T, path, startKey string) []content {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []content
	in := false
	indent := -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || trimmed == "" {
			continue
		}
		ind := len(line) - len(strings.TrimLeft(line, " "))
		if !in {
			if trimmed == startKey {
				in, indent = true, ind
			}
			continue
		}
		if ind <= indent && !strings.HasPrefix(trimmed, "- ") || ind < indent {
			break
		}
		key, value, _ := strings.Cut(strings.TrimPrefix(trimmed, "- "), ":")
		value = strings.TrimSpace(value)
		switch key {
		case "src":
			out = append(out, content{Src: value})
		case "dst":
			out[len(out)-1].Dst = value
		case "packager":
			out[len(out)-1].Packager = value
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s: found no %s entries", path, startKey)
	}
	return out
}

func key(c content) string { return c.Dst + " [" + c.Packager + "]" }

// TestPackageContentsAgree: make package (nfpm.yaml) and a release
// (goreleaser.yaml) install the same files, and every file they take from
// the repository exists.
func TestPackageContentsAgree(t *testing.T) {
	nfpm := readContents(t, "nfpm.yaml", "contents:")
	gr := readContents(t, "goreleaser.yaml", "contents:")
	set := func(cs []content) map[string]content {
		m := map[string]content{}
		for _, c := range cs {
			m[key(c)] = c
		}
		return m
	}
	a, b := set(nfpm), set(gr)
	// goreleaser installs the binary itself, from bindir.
	b["/usr/bin/docker-credential-notation []"] = content{Dst: "/usr/bin/docker-credential-notation"}
	var diffs []string
	for k := range a {
		if _, ok := b[k]; !ok {
			diffs = append(diffs, "only in nfpm.yaml: "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diffs = append(diffs, "only in goreleaser.yaml: "+k)
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
	for _, c := range append(nfpm, gr...) {
		if !strings.HasPrefix(c.Src, "docs/") {
			continue // built by package.sh or goreleaser's hook
		}
		if _, err := os.Stat(filepath.Join("..", c.Src)); err != nil {
			t.Errorf("%s is packaged but missing: %v (run make docs)", c.Src, err)
		}
	}
	for _, want := range []string{
		"/usr/bin/docker-credential-notation []",
		"/usr/share/man/man1/docker-credential-notation.1.gz []",
		"/usr/share/bash-completion/completions/docker-credential-notation []",
		"/usr/share/zsh/vendor-completions/_docker-credential-notation [deb]",
		"/usr/share/zsh/site-functions/_docker-credential-notation [rpm]",
		"/usr/share/zsh/site-functions/_docker-credential-notation [apk]",
		"/usr/share/fish/vendor_completions.d/docker-credential-notation.fish []",
	} {
		if _, ok := a[want]; !ok {
			t.Errorf("nfpm.yaml does not install %s", want)
		}
	}
}

// TestManifestTemplates renders the Homebrew formula and the Scoop manifest
// from a checksums file laid out as goreleaser writes it.
func TestManifestTemplates(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	const version = "1.2.3"
	platforms := []string{"darwin_amd64", "darwin_arm64", "linux_amd64", "linux_arm64", "windows_amd64", "windows_arm64"}
	dir := t.TempDir()
	var sums strings.Builder
	want := map[string]string{}
	for i, p := range platforms {
		ext := "tar.gz"
		if strings.HasPrefix(p, "windows") {
			ext = "zip"
		}
		archive := fmt.Sprintf("docker-credential-notation_%s_%s.%s", version, p, ext)
		sum := strings.Repeat(fmt.Sprintf("%x", i+1), 64)
		want[archive] = sum
		fmt.Fprintf(&sums, "%s  %s\n", sum, archive)
	}
	fmt.Fprintf(&sums, "%s  %s\n", strings.Repeat("f", 64), "docker-credential-notation_1.2.3_amd64.deb")
	checksums := filepath.Join(dir, "checksums.txt")
	if err := os.WriteFile(checksums, []byte(sums.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if b, err := exec.Command("bash", "render-manifests.sh", version, checksums, out).CombinedOutput(); err != nil {
		t.Fatalf("render-manifests.sh: %v\n%s", err, b)
	}

	var scoop struct {
		Version      string
		Bin          string
		Architecture map[string]struct{ URL, Hash string }
	}
	b, err := os.ReadFile(filepath.Join(out, "docker-credential-notation.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &scoop); err != nil {
		t.Fatalf("the Scoop manifest is not JSON: %v", err)
	}
	if scoop.Version != version || scoop.Bin != "docker-credential-notation.exe" {
		t.Errorf("scoop manifest: version %q, bin %q", scoop.Version, scoop.Bin)
	}
	for arch, p := range map[string]string{"64bit": "windows_amd64", "arm64": "windows_arm64"} {
		archive := fmt.Sprintf("docker-credential-notation_%s_%s.zip", version, p)
		got := scoop.Architecture[arch]
		if !strings.HasSuffix(got.URL, "/v"+version+"/"+archive) || got.Hash != want[archive] {
			t.Errorf("scoop %s: url %q hash %q, want the release's %s with %s", arch, got.URL, got.Hash, archive, want[archive])
		}
	}

	rb, err := os.ReadFile(filepath.Join(out, "docker-credential-notation.rb"))
	if err != nil {
		t.Fatal(err)
	}
	formula := string(rb)
	for archive, sum := range want {
		if strings.HasPrefix(archive, "docker-credential-notation_1.2.3_windows") {
			continue
		}
		// Each archive's URL is followed by its own checksum.
		i := strings.Index(formula, "/v"+version+"/"+archive+`"`)
		if i < 0 {
			t.Errorf("the formula has no URL for %s", archive)
			continue
		}
		if next := formula[i:]; !strings.Contains(next[:strings.Index(next, "end")], `sha256 "`+sum+`"`) {
			t.Errorf("the formula's URL for %s is not followed by its sha256", archive)
		}
	}
	if ruby, err := exec.LookPath("ruby"); err == nil {
		if b, err := exec.Command(ruby, "-c", filepath.Join(out, "docker-credential-notation.rb")).CombinedOutput(); err != nil {
			t.Errorf("ruby -c: %v\n%s", err, b)
		}
	}

	// A release missing an archive is refused.
	short := strings.Join(strings.Split(sums.String(), "\n")[1:], "\n")
	if err := os.WriteFile(checksums, []byte(short), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err = exec.Command("bash", "render-manifests.sh", version, checksums, filepath.Join(dir, "out2")).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "no sha256 for docker-credential-notation_1.2.3_darwin_amd64.tar.gz") {
		t.Errorf("render-manifests.sh with an archive missing: err %v, output %s", err, b)
	}
}

// TestGoreleaserConfig runs goreleaser's own check of the configuration
// where goreleaser is installed (on PATH or in .cache/bin). CI does not
// install it: it is too large a build for every run.
func TestGoreleaserConfig(t *testing.T) {
	path, err := exec.LookPath("goreleaser")
	if err != nil {
		if p := filepath.Join("..", ".cache", "bin", "goreleaser"); fileExists(p) {
			path, err = filepath.Abs(p)
		}
	}
	if err != nil || path == "" {
		t.Skip("goreleaser is not installed, so packaging/goreleaser.yaml is not checked here; run goreleaser check --config packaging/goreleaser.yaml where it is")
	}
	cmd := exec.Command(path, "check", "--config", "packaging/goreleaser.yaml")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("goreleaser check: %v\n%s", err, b)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
