// Package depcheck holds a test that keeps the module's dependency direction
// one way: main -> {tokenexchange, keyring, filestore} -> helper.
//
// It asks the go command for every package's imports (`go list -deps -json`)
// and checks them against the rules below, naming each offending import. See
// ARCHITECTURE.md for why the rules exist.
package depcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/notaryproject/docker-credential-notation"

// pkg is what `go list -json` says about one package.
type pkg struct {
	ImportPath   string
	Name         string
	Standard     bool
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// rule constrains the imports of the packages at and under dir (a path
// relative to the module root; "." is every package).
type rule struct {
	dir string
	why string
	// moduleAllowed lists the packages of this module (relative paths, each
	// with its subtree) that the package may import; nil means any. A
	// package may always import its own subtree.
	moduleAllowed []string
	// moduleDenied lists packages of this module (with their subtrees) that
	// the package must not import.
	moduleDenied []string
	// thirdPartyAllowed lists the only packages outside the standard library
	// and this module that the package may import; nil means any.
	thirdPartyAllowed []string
	// tests applies the rule to the package's test files instead of its
	// other files.
	tests bool
}

var rules = []rule{
	{
		dir:          ".",
		why:          "helper/helpertest and internal/testutil (the built binary's sandbox, the test CA, the registries, the OpenID provider) are for tests: importing them elsewhere puts package testing (and a whole OpenID provider) into the binary",
		moduleDenied: []string{"helper/helpertest", "internal/testutil"},
	},
	{
		dir:               "helper",
		why:               "helper is the protocol and the Store interface: it depends on the standard library and the protocol package only",
		moduleAllowed:     []string{},
		thirdPartyAllowed: []string{"github.com/docker/docker-credential-helpers/credentials"},
	},
	{
		dir:           "helper/helpertest",
		why:           "the conformance suite depends on helper alone, so every backend can run it",
		moduleAllowed: []string{"helper"},
	},
	{
		dir:           "filestore",
		why:           "a backend depends on helper (and the shared leaves: file lock, atomic write) only; backends never import each other",
		moduleAllowed: []string{"helper", "internal/filelock", "internal/atomicfile"},
	},
	{
		dir:           "keyring",
		why:           "a backend depends on helper (and the shared file lock) only; backends never import each other",
		moduleAllowed: []string{"helper", "internal/filelock"},
	},
	{
		dir:           "tokenexchange",
		why:           "the token-exchange decorator wraps any helper.Store and depends on helper (and the shared leaves: file lock, HTTP policy, scrubber) only",
		moduleAllowed: []string{"helper", "internal/filelock", "internal/httppolicy", "internal/scrub", "internal/hostpattern"},
	},
	{
		dir:           "internal/registryauth",
		why:           "the registry authentication flow takes a credential, not a store: it depends on helper and the shared HTTP policy, scrubber and atomic-write leaves only",
		moduleAllowed: []string{"helper", "internal/httppolicy", "internal/scrub", "internal/atomicfile"},
	},
	{
		dir:           "internal/config",
		why:           "configuration knows no backend and no protocol: it depends on the user-directory, atomic-write and host-pattern leaves only",
		moduleAllowed: []string{"internal/userdir", "internal/atomicfile", "internal/hostpattern"},
	},
	{
		dir:               "internal/dockerconfig",
		why:               "editing docker's and notation's config.json knows no store, no backend and no protocol: it depends on the user-directory and atomic-write leaves only",
		moduleAllowed:     []string{"internal/userdir", "internal/atomicfile"},
		thirdPartyAllowed: []string{},
	},
	{
		dir:               "internal/userdir",
		why:               "where the user's configuration lives is a leaf shared by the helper's and the clients' configuration",
		moduleAllowed:     []string{},
		thirdPartyAllowed: []string{},
	},
	{
		dir:           "internal/filelock",
		why:           "the file lock is a leaf shared by backends",
		moduleAllowed: []string{},
	},
	{
		dir:               "internal/httppolicy",
		why:               "the HTTP policy is a leaf shared by the registry flow and token exchange",
		moduleAllowed:     []string{},
		thirdPartyAllowed: []string{},
	},
	{
		dir:               "internal/scrub",
		why:               "the scrubber of peer text is a leaf shared by everything that shows what a peer said",
		moduleAllowed:     []string{},
		thirdPartyAllowed: []string{},
	},
	{
		dir:               "internal/hostpattern",
		why:               "registry patterns are a leaf shared by the configuration and token exchange",
		moduleAllowed:     []string{},
		thirdPartyAllowed: []string{},
	},
	{
		dir:               "internal/keyctl",
		why:               "the kernel keyring is a leaf that main hands the file store as its key cache",
		moduleAllowed:     []string{},
		thirdPartyAllowed: []string{"golang.org/x/sys/unix"},
	},
	{
		dir:               "internal/kubelet",
		why:               "kubelet's provider protocol is small structs of our own: it depends on the standard library only (k8s.io would slow every get)",
		moduleAllowed:     []string{},
		thirdPartyAllowed: []string{},
	},
	{
		dir:               "internal/atomicfile",
		why:               "the atomic write is a leaf shared by the backends, the configuration and the config.json editor",
		moduleAllowed:     []string{},
		thirdPartyAllowed: []string{},
	},
	{
		dir:          "internal/cli",
		why:          "the CLI gets its store from main (Env.OpenStore), so that only the composition root knows the backends",
		moduleDenied: []string{"filestore", "keyring", "tokenexchange"},
	},
	{
		// Backends' tests may use helper/helpertest, but never another
		// backend: each backend must stand alone.
		dir:          "filestore",
		why:          "backends never import each other, not even in tests",
		moduleDenied: []string{"keyring", "tokenexchange"},
		tests:        true,
	},
	{
		dir:          "keyring",
		why:          "backends never import each other, not even in tests",
		moduleDenied: []string{"filestore", "tokenexchange"},
		tests:        true,
	},
	{
		dir:          "tokenexchange",
		why:          "backends never import each other, not even in tests",
		moduleDenied: []string{"filestore", "keyring"},
		tests:        true,
	},
}

func TestImportRules(t *testing.T) {
	pkgs, err := goList(t)
	if err != nil {
		t.Fatal(err)
	}
	// A rule that matches nothing would pass forever; make sure the rules
	// see the packages that exist.
	for _, want := range []string{"helper", "filestore", "internal/cli", "internal/config"} {
		if !slices.ContainsFunc(pkgs, func(p pkg) bool { return p.ImportPath == module+"/"+want }) {
			t.Fatalf("go list did not report %s/%s; the check would see nothing", module, want)
		}
	}
	for _, v := range check(pkgs) {
		t.Error(v)
	}
}

// TestNoKubernetesInBinary: the binary links no k8s.io package. kubelet's
// provider protocol is spoken with structs of our own; k8s.io's packages
// would add their init to every get's start-up.
func TestNoKubernetesInBinary(t *testing.T) {
	for _, p := range binaryDeps(t) {
		if strings.HasPrefix(p, "k8s.io/") || strings.HasPrefix(p, "sigs.k8s.io/") {
			t.Errorf("the binary links %s", p)
		}
	}
}

// TestNoTestCodeInBinary: the binary links neither package testing nor
// the test helpers (helper/helpertest, internal/testutil), whoever
// imports them.
func TestNoTestCodeInBinary(t *testing.T) {
	for _, p := range binaryDeps(t) {
		rel, ours := relative(p)
		if p == "testing" || strings.HasPrefix(p, "testing/") || ours && (under(rel, "helper/helpertest") || under(rel, "internal/testutil")) {
			t.Errorf("the binary links %s", p)
		}
	}
}

// binaryDeps lists the packages the binary links (go list -deps).
func binaryDeps(t *testing.T) []string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{.ImportPath}}", module).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 50 {
		t.Fatalf("go list -deps reported %d packages; the check would see nothing", len(deps))
	}
	return deps
}

// goList reports every package of the module and, with Standard set, every
// package they depend on.
func goList(t *testing.T) ([]pkg, error) {
	t.Helper()
	// go test puts $GOROOT/bin first on the test's PATH.
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("go command not found: %v", err)
	}
	cmd := exec.Command(goCmd, "list", "-e", "-deps",
		"-json=ImportPath,Name,Standard,Imports,TestImports,XTestImports",
		module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list failed: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("failed to parse go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// check returns one message per broken rule, naming the importing package,
// the offending import and the rule's reason.
func check(pkgs []pkg) []string {
	std := map[string]bool{"C": true, "unsafe": true}
	for _, p := range pkgs {
		if p.Standard {
			std[p.ImportPath] = true
		}
	}
	var violations []string
	for _, p := range pkgs {
		rel, ok := relative(p.ImportPath)
		if !ok {
			continue
		}
		type imp struct{ path, from string }
		var imps []imp
		for _, i := range p.Imports {
			imps = append(imps, imp{i, ""})
		}
		testImps := []imp{}
		for _, i := range p.TestImports {
			testImps = append(testImps, imp{i, " (in a _test.go file)"})
		}
		for _, i := range p.XTestImports {
			testImps = append(testImps, imp{i, " (in a _test.go file)"})
		}

		// Nothing imports the main package (the module root).
		for _, i := range append(slices.Clone(imps), testImps...) {
			if i.path == module {
				violations = append(violations, fmt.Sprintf("%s imports %s%s: nothing imports the main package; move what it needs into a package of its own", p.ImportPath, i.path, i.from))
			}
		}
		for _, r := range rules {
			if !under(rel, r.dir) {
				continue
			}
			list := imps
			if r.tests {
				list = testImps
			}
			for _, i := range list {
				if msg := r.violation(rel, i.path, std); msg != "" {
					violations = append(violations, fmt.Sprintf("%s imports %s%s: %s (%s)", p.ImportPath, i.path, i.from, msg, r.why))
				}
			}
		}
	}
	sort.Strings(violations)
	return slices.Compact(violations)
}

// violation says why importing path from the package rel breaks r, or "".
func (r rule) violation(rel, path string, std map[string]bool) string {
	if target, ok := relative(path); ok {
		if target == "" {
			return "" // the main package; reported on its own
		}
		if r.dir != "." && under(target, r.dir) {
			return "" // its own subtree
		}
		for _, d := range r.moduleDenied {
			if under(target, d) && !under(rel, d) {
				if r.dir == "." {
					return fmt.Sprintf("only tests may import %s", d)
				}
				return fmt.Sprintf("%s must not import %s", r.dir, d)
			}
		}
		if r.moduleAllowed != nil && !slices.ContainsFunc(r.moduleAllowed, func(a string) bool { return under(target, a) }) {
			if len(r.moduleAllowed) == 0 {
				return fmt.Sprintf("%s imports no package of this module", r.dir)
			}
			return fmt.Sprintf("%s may import only %s from this module", r.dir, strings.Join(r.moduleAllowed, ", "))
		}
		return ""
	}
	if std[path] || r.thirdPartyAllowed == nil {
		return ""
	}
	if !slices.Contains(r.thirdPartyAllowed, path) {
		return fmt.Sprintf("%s may import only the standard library and %s", r.dir, strings.Join(r.thirdPartyAllowed, ", "))
	}
	return ""
}

// relative returns path relative to the module root ("" for the root
// itself), and whether path is in this module.
func relative(path string) (string, bool) {
	if path == module {
		return "", true
	}
	rel, ok := strings.CutPrefix(path, module+"/")
	return rel, ok
}

// under reports whether rel is dir or inside it.
func under(rel, dir string) bool {
	return dir == "." || rel == dir || strings.HasPrefix(rel, dir+"/")
}

// TestCheckReportsViolations proves that check fails on each kind of broken
// rule, so that TestImportRules passing means something.
func TestCheckReportsViolations(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	stdlib := []pkg{
		{ImportPath: "fmt", Standard: true},
		{ImportPath: "context", Standard: true},
	}
	tests := []struct {
		name string
		pkg  pkg
		want string // a substring of the single expected violation; "" means none
	}{
		{
			name: "helper imports only std and the protocol package",
			pkg:  pkg{ImportPath: m("helper"), Imports: []string{"context", "fmt", "github.com/docker/docker-credential-helpers/credentials"}},
		},
		{
			name: "helper imports urfave/cli",
			pkg:  pkg{ImportPath: m("helper"), Imports: []string{"fmt", "github.com/urfave/cli/v2"}},
			want: m("helper") + " imports github.com/urfave/cli/v2: helper may import only the standard library",
		},
		{
			name: "helper imports internal/config",
			pkg:  pkg{ImportPath: m("helper"), Imports: []string{m("internal/config")}},
			want: m("helper") + " imports " + m("internal/config") + ": helper imports no package of this module",
		},
		{
			name: "helper test imports helpertest",
			pkg:  pkg{ImportPath: m("helper"), XTestImports: []string{m("helper/helpertest")}},
		},
		{
			name: "filestore imports helper and filelock",
			pkg:  pkg{ImportPath: m("filestore"), Imports: []string{m("helper"), m("internal/filelock"), "filippo.io/age"}},
		},
		{
			name: "filestore imports keyring",
			pkg:  pkg{ImportPath: m("filestore"), Imports: []string{m("helper"), m("keyring")}},
			want: m("filestore") + " imports " + m("keyring") + ": filestore may import only helper, internal/filelock",
		},
		{
			name: "filestore imports internal/config",
			pkg:  pkg{ImportPath: m("filestore"), Imports: []string{m("internal/config")}},
			want: m("filestore") + " imports " + m("internal/config") + ": filestore may import only",
		},
		{
			name: "filestore test imports helpertest",
			pkg:  pkg{ImportPath: m("filestore"), TestImports: []string{m("helper/helpertest")}},
		},
		{
			name: "filestore imports helpertest outside its tests",
			pkg:  pkg{ImportPath: m("filestore"), Imports: []string{m("helper"), m("helper/helpertest")}},
			want: m("filestore") + " imports " + m("helper/helpertest") + ": only tests may import helper/helpertest",
		},
		{
			name: "filestore test imports tokenexchange",
			pkg:  pkg{ImportPath: m("filestore"), XTestImports: []string{m("tokenexchange")}},
			want: m("filestore") + " imports " + m("tokenexchange") + " (in a _test.go file): filestore must not import tokenexchange",
		},
		{
			name: "main imports the test provider",
			pkg:  pkg{ImportPath: module, Imports: []string{m("tokenexchange"), m("internal/testutil/oidctest")}},
			want: module + " imports " + m("internal/testutil/oidctest") + ": only tests may import internal/testutil",
		},
		{
			name: "tokenexchange test imports its test provider",
			pkg:  pkg{ImportPath: m("tokenexchange"), XTestImports: []string{m("internal/testutil/oidctest"), m("helper/helpertest")}},
		},
		{
			name: "internal/cli imports the test sandbox outside its tests",
			pkg:  pkg{ImportPath: m("internal/cli"), Imports: []string{m("helper"), m("internal/testutil/helperbin")}},
			want: m("internal/cli") + " imports " + m("internal/testutil/helperbin") + ": only tests may import internal/testutil",
		},
		{
			name: "one test helper imports another",
			pkg:  pkg{ImportPath: m("internal/testutil/registryfixture"), Imports: []string{m("internal/testutil/testca")}},
		},
		{
			name: "tokenexchange imports filestore",
			pkg:  pkg{ImportPath: m("tokenexchange"), Imports: []string{m("filestore")}},
			want: m("tokenexchange") + " imports " + m("filestore"),
		},
		{
			name: "keyring subpackage imports internal/cli",
			pkg:  pkg{ImportPath: m("keyring/internal/index"), Imports: []string{m("internal/cli")}},
			want: m("keyring/internal/index") + " imports " + m("internal/cli"),
		},
		{
			name: "internal/config imports helper",
			pkg:  pkg{ImportPath: m("internal/config"), Imports: []string{m("helper")}},
			want: m("internal/config") + " imports " + m("helper"),
		},
		{
			name: "internal/registryauth imports internal/config",
			pkg:  pkg{ImportPath: m("internal/registryauth"), Imports: []string{m("helper"), m("internal/config")}},
			want: m("internal/registryauth") + " imports " + m("internal/config") + ": internal/registryauth may import only helper",
		},
		{
			name: "internal/cli imports helper and config",
			pkg:  pkg{ImportPath: m("internal/cli"), Imports: []string{m("helper"), m("internal/config"), "github.com/urfave/cli/v2"}},
		},
		{
			name: "internal/cli imports filestore",
			pkg:  pkg{ImportPath: m("internal/cli"), Imports: []string{m("filestore")}},
			want: m("internal/cli") + " imports " + m("filestore") + ": internal/cli must not import filestore",
		},
		{
			name: "a test imports the main package",
			pkg:  pkg{ImportPath: m("tests"), XTestImports: []string{module}},
			want: m("tests") + " imports " + module + " (in a _test.go file): nothing imports the main package",
		},
		{
			name: "main imports every backend",
			pkg:  pkg{ImportPath: module, Imports: []string{m("filestore"), m("keyring"), m("tokenexchange"), m("internal/cli")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(append(slices.Clone(stdlib), tt.pkg))
			switch {
			case tt.want == "" && len(got) != 0:
				t.Errorf("check reported %q, want no violation", got)
			case tt.want != "" && len(got) != 1:
				t.Errorf("check reported %d violations %q, want one containing %q", len(got), got, tt.want)
			case tt.want != "" && !strings.Contains(got[0], tt.want):
				t.Errorf("check reported %q, want it to contain %q", got[0], tt.want)
			}
		})
	}
}
