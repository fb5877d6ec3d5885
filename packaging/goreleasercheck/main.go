// Command goreleasercheck loads packaging/goreleaser.yaml with goreleaser's
// own configuration loader (strict: an unknown or misspelt field is an
// error) and checks the choices the release depends on: the platforms, a
// static build without urfave/cli's docs code and with the version stamped,
// checksums, and the .deb, .rpm and .apk packages.
//
// It is a module of its own so that goreleaser's dependencies stay out of
// the helper's go.mod, and it loads the configuration only: building the
// whole goreleaser program takes far longer. make release-check runs it:
//
//	cd packaging/goreleasercheck && go run . ../goreleaser.yaml
package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/goreleaser/goreleaser/v2/pkg/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: goreleasercheck PATH/TO/goreleaser.yaml")
		os.Exit(2)
	}
	problems, err := check(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "goreleasercheck: error: failed to load %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "goreleasercheck: %s: %s\n", os.Args[1], p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("goreleasercheck: %s loads with goreleaser's strict loader and has every expected setting\n", os.Args[1])
}

func check(path string) ([]string, error) {
	p, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	if len(p.Builds) != 1 {
		bad("want 1 build, have %d", len(p.Builds))
		return problems, nil
	}
	b := p.Builds[0]
	for _, os := range []string{"linux", "darwin", "windows"} {
		if !slices.Contains(b.Goos, os) {
			bad("the build does not target %s", os)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		if !slices.Contains(b.Goarch, arch) {
			bad("the build does not target %s", arch)
		}
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") {
		bad("the build does not set CGO_ENABLED=0")
	}
	if !slices.Contains(b.Flags, "-trimpath") {
		bad("the build does not pass -trimpath")
	}
	if !slices.Contains(b.Tags, "urfave_cli_no_docs") {
		bad("the build does not set the urfave_cli_no_docs tag")
	}
	if !strings.Contains(strings.Join(b.Ldflags, " "), "-X main.version=") {
		bad("the build does not stamp main.version")
	}
	if len(p.Archives) == 0 {
		bad("no archives")
	}
	for _, a := range p.Archives {
		if !slices.Contains(a.Files, config.File{Source: "docs/man/docker-credential-notation.1"}) {
			bad("archive %s does not include the man page", a.ID)
		}
	}
	if p.Checksum.Disable || p.Checksum.NameTemplate == "" {
		bad("checksums are not written")
	}
	if len(p.NFPMs) != 1 {
		bad("want 1 nfpms entry, have %d", len(p.NFPMs))
		return problems, nil
	}
	n := p.NFPMs[0]
	for _, f := range []string{"deb", "rpm", "apk"} {
		if !slices.Contains(n.Formats, f) {
			bad("nfpms does not build %s", f)
		}
	}
	if n.Bindir != "/usr/bin" {
		bad("nfpms installs the binary into %q, want /usr/bin", n.Bindir)
	}
	if n.Maintainer == "" {
		bad("nfpms has no maintainer")
	}
	return problems, nil
}
