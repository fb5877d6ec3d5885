package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"

	ucli "github.com/urfave/cli/v2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/config"
)

func migrateCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:      "migrate",
		Usage:     "move every credential from the other backend to --to (file or keychain), verifying each copy before deleting the original",
		UsageText: Name + " migrate --to keychain|file [--overwrite]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "to", Required: true, Usage: "the backend to move credentials to: file or keychain"},
			&ucli.BoolFlag{Name: "overwrite", Usage: "replace a different credential that the target already holds for the same registry"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q", c.Args().First())
			}
			return migrate(c.Context, env, c.String("to"), c.Bool("overwrite"))
		},
	}
}

// migrate copies every credential of the other backend into to, reads each
// copy back, records to as the backend in use once all copies are verified,
// and only then deletes the originals. Each step can be repeated, so an
// interrupted migration is finished by running it again.
func migrate(ctx context.Context, env *Env, to string, overwrite bool) error {
	var from string
	switch to {
	case config.BackendFile:
		from = config.BackendKeychain
	case config.BackendKeychain:
		from = config.BackendFile
	default:
		return fmt.Errorf("invalid --to %q (want file or keychain)", to)
	}
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return err
	}
	src, err := env.OpenBackend(ctx, cfg, env, from)
	if err != nil {
		return err
	}
	dst, err := env.OpenBackend(ctx, cfg, env, to)
	if err != nil {
		return err
	}
	list, err := src.List(ctx)
	if err != nil {
		return fmt.Errorf("failed to list the %s backend: %w", from, err)
	}
	urls := make([]string, 0, len(list))
	for u := range list {
		urls = append(urls, u)
	}
	slices.Sort(urls)

	type item struct {
		key helper.Key
		url string
	}
	var moved []item
	var conflicts int
	for _, u := range urls {
		k, err := helper.ParseServerURL(u)
		if err != nil {
			return fmt.Errorf("failed to migrate %s: %w", u, err)
		}
		cred, err := src.Get(ctx, k)
		if err != nil {
			return fmt.Errorf("failed to read %s from the %s backend: %w", u, from, err)
		}
		have, err := dst.Get(ctx, k)
		switch {
		case err == nil && have != cred && !overwrite:
			fmt.Fprintf(env.Stderr, "%s: migrate: %s: the %s backend already holds a different credential (username %q); kept both, rerun with --overwrite to replace it\n", Name, u, to, have.Username)
			conflicts++
			continue
		case err != nil && !errors.Is(err, helper.ErrNotFound):
			return fmt.Errorf("failed to read %s from the %s backend: %w", u, to, err)
		}
		if err := dst.Put(ctx, k, cred); err != nil {
			return fmt.Errorf("failed to copy %s to the %s backend: %w", u, to, err)
		}
		got, err := dst.Get(ctx, k)
		if err != nil || got != cred {
			if err == nil {
				err = errors.New("the copy differs from the original")
			}
			return fmt.Errorf("failed to verify the copy of %s in the %s backend: %v; the original is kept", u, to, err)
		}
		moved = append(moved, item{k, u})
	}
	if conflicts > 0 {
		return helper.WithHint(fmt.Errorf("failed to migrate: %d credentials conflict; nothing was deleted from the %s backend", conflicts, from),
			"rerun with --overwrite to replace the target's credentials with the originals")
	}
	if err := config.RecordBackend(cfg.StoreDir, to); err != nil {
		return err
	}
	for _, it := range moved {
		if err := src.Delete(ctx, it.key); err != nil && !errors.Is(err, helper.ErrNotFound) {
			return helper.WithHint(fmt.Errorf("failed to delete the original of %s from the %s backend: %w", it.url, from, err),
				"the copy is verified and in use; rerun migrate to finish deleting the originals")
		}
	}
	fmt.Fprintf(env.Stdout, "migrated %d credentials from %s to %s; %s is now the backend in use\n", len(moved), from, to, to)
	return nil
}
