// Command docker-credential-notation is a credential helper for docker,
// notation, oras, crane, regctl and skopeo that keeps registry credentials
// encrypted. See README.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/notaryproject/docker-credential-notation/filestore"
	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/cli"
	"github.com/notaryproject/docker-credential-notation/internal/config"
)

// version is stamped at build time with -ldflags "-X main.version=…"; a
// `go install …@vX` build reports its module version instead.
var version = ""

const modulePath = "github.com/notaryproject/docker-credential-notation"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return cli.Run(ctx, args, &cli.Env{
		Stdin:     stdin,
		Stdout:    stdout,
		Stderr:    stderr,
		Getenv:    getenv,
		Version:   programVersion(),
		Package:   modulePath,
		OpenStore: openStore,
		Prompt:    cli.TerminalPrompt(),
	})
}

// openStore is the composition root: it builds the store that the
// configuration selects.
func openStore(_ context.Context, cfg *config.Config, env *cli.Env) (helper.Store, error) {
	switch cfg.Backend {
	case config.BackendAuto, config.BackendFile:
		src, err := filestore.ParseKeySource(cfg.KeySource)
		if err != nil {
			return nil, err
		}
		return filestore.New(filestore.Options{
			Dir:          cfg.StoreDir,
			KeySource:    src,
			Identity:     cfg.Identity,
			IdentityFile: cfg.IdentityFile,
			Passphrase:   cfg.Passphrase,
			Prompt:       env.Prompt,
			PluginUI:     cli.PluginUI(env.Stderr, env.Prompt),
		})
	}
	return nil, fmt.Errorf("unknown backend %q", cfg.Backend)
}

func programVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
