package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/dockerconfig"
)

// helperName is the name clients know this helper by: docker runs
// "docker-credential-" + the value of credsStore or of a credHelpers entry.
const helperName = "notation"

// backupSuffix names the file next to a config.json that holds the values
// configure replaced, for --undo.
const backupSuffix = ".docker-credential-notation.bak"

func configureCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:      "configure",
		Usage:     `make docker, notation, helm and podman use this helper: set "credsStore" (or "credHelpers" entries for --registry) in docker's and notation's config.json and helm's registry config, and "credHelpers" entries in containers' auth.json`,
		UsageText: Name + " configure [--registry HOST ...] [--docker] [--notation] [--helm] [--containers] [--dry-run] [--undo]",
		Flags: []ucli.Flag{
			&ucli.StringSliceFlag{Name: "registry", Usage: "use the helper for this registry only (a credHelpers entry); repeatable"},
			&ucli.BoolFlag{Name: "docker", Usage: "edit docker's config.json only ($DOCKER_CONFIG/config.json or ~/.docker/config.json)"},
			&ucli.BoolFlag{Name: "notation", Usage: "edit notation's config.json only ($XDG_CONFIG_HOME/notation/config.json)"},
			&ucli.BoolFlag{Name: "helm", Usage: "edit helm's registry config only ($HELM_REGISTRY_CONFIG, else $XDG_CONFIG_HOME/helm/registry/config.json)"},
			&ucli.BoolFlag{Name: "containers", Usage: "edit containers' auth.json only, which podman, buildah and skopeo read ($REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json, else $XDG_RUNTIME_DIR/containers/auth.json and $XDG_CONFIG_HOME/containers/auth.json); it takes credHelpers entries only, so it needs --registry"},
			&ucli.BoolFlag{Name: "dry-run", Usage: "print the change as a diff and write nothing"},
			&ucli.BoolFlag{Name: "undo", Usage: "restore the setting that configure replaced"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q", c.Args().First())
			}
			targets, err := configTargets(env, c.Bool("docker"), c.Bool("notation"), c.Bool("helm"), c.Bool("containers"))
			if err != nil {
				return err
			}
			return configure(env, targets, c.StringSlice("registry"), c.Bool("dry-run"), c.Bool("undo"))
		},
	}
}

// getuid names the per-user runtime file of containers/image when
// $XDG_RUNTIME_DIR is unset.
var getuid = os.Getuid

// target is one config file to edit. A containers auth.json takes
// credHelpers only: containers/image reads no credsStore.
type target struct {
	path       string
	containers bool
	// runtime marks containers' primary file in the runtime directory,
	// which a reboot empties.
	runtime bool
}

// configTargets returns the config files to edit: docker's, notation's,
// helm's, containers' auth.json, or all of them when no flag is given.
func configTargets(env *Env, docker, notation, helm, containers bool) ([]target, error) {
	if !docker && !notation && !helm && !containers {
		docker, notation, helm, containers = true, true, true, true
	}
	var targets []target
	// One file may be several clients' ($DOCKER_CONFIG/config.json is
	// podman's too; $HELM_REGISTRY_CONFIG may name docker's): it is edited
	// once, as the first of them.
	add := func(t target) {
		if !slices.ContainsFunc(targets, func(o target) bool { return o.path == t.path }) {
			targets = append(targets, t)
		}
	}
	if docker {
		p, err := dockerconfig.DockerPath(env.Getenv)
		if err != nil {
			return nil, fmt.Errorf("failed to find docker's config.json: %v", err)
		}
		add(target{path: p})
	}
	if notation {
		p, err := dockerconfig.NotationPath(env.Getenv)
		if err != nil {
			return nil, fmt.Errorf("failed to find notation's config.json: %v", err)
		}
		add(target{path: p})
	}
	if helm {
		p, err := dockerconfig.HelmPath(env.Getenv)
		if err != nil {
			return nil, fmt.Errorf("failed to find helm's registry config: %v", err)
		}
		add(target{path: p})
	}
	if containers {
		ps, err := dockerconfig.ContainersPaths(env.Getenv, getuid())
		if err != nil {
			return nil, fmt.Errorf("failed to find containers' auth.json: %v", err)
		}
		for i, p := range ps {
			add(target{path: p, containers: true, runtime: i == 0 && len(ps) > 1})
		}
	}
	return targets, nil
}

// edit is one config file's planned change and the backup that goes with it.
type edit struct {
	file    *dockerconfig.File
	backup  *dockerconfig.File
	notes   []string
	nothing string // why there is nothing to do, if so
}

// configure edits every target. All files are loaded and every edit is
// planned before anything is written, so a broken file stops the run
// before the others change.
func configure(env *Env, targets []target, registries []string, dryRun, undo bool) error {
	for _, r := range registries {
		if strings.TrimSpace(r) == "" || strings.ContainsAny(r, " \t\n") {
			return fmt.Errorf("invalid --registry %q", r)
		}
	}
	var edits []*edit
	for _, t := range targets {
		p := t.path
		f, err := dockerconfig.Load(p)
		if err != nil {
			return configHint(err)
		}
		b, err := dockerconfig.Load(p + backupSuffix)
		if err != nil {
			return configHint(err)
		}
		if f.Exists && f.Mode()&0o200 == 0 && runtime.GOOS != "windows" {
			// Found before anything is written, so no file changes.
			return configHint(fmt.Errorf("failed to write %s: %w", p, dockerconfig.ErrReadOnly))
		}
		e := &edit{file: f, backup: b}
		switch {
		case undo:
			err = planUndo(e)
		case t.containers && len(registries) == 0:
			e.nothing = `containers' auth.json has no "credsStore" (podman, buildah and skopeo read "credHelpers" only); nothing to change: rerun with --registry HOST to use this helper there`
		default:
			err = planConfigure(e, registries)
			if err == nil && t.runtime && e.nothing == "" {
				e.notes = append(e.notes, "note: a reboot empties this directory, and podman and buildah save their logins in this file: rerun configure after a reboot, before logging in")
			}
		}
		if err != nil {
			return fmt.Errorf("failed to configure %s: %v", p, err)
		}
		edits = append(edits, e)
	}
	for _, e := range edits {
		p := e.file.Path
		for _, n := range e.notes {
			fmt.Fprintf(env.Stdout, "%s: %s\n", p, n)
		}
		if e.nothing != "" {
			fmt.Fprintf(env.Stdout, "%s: %s\n", p, e.nothing)
			continue
		}
		if dryRun {
			oldName := p
			if !e.file.Exists {
				oldName = "/dev/null"
			}
			fmt.Fprint(env.Stdout, dockerconfig.Diff(oldName, p, e.file.Original(), e.file.Bytes()))
			continue
		}
		// The backup is written first: a configuration that changed can
		// always be undone.
		if !undo && e.backup.Changed() {
			if err := e.backup.Save(); err != nil {
				return configHint(err)
			}
		}
		if e.file.Exists && e.file.Changed() || !e.file.Exists && !undo {
			if err := e.file.Save(); err != nil {
				return configHint(err)
			}
		}
		if undo {
			if err := os.Remove(e.backup.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("failed to remove %s: %v", e.backup.Path, err)
			}
		}
	}
	if dryRun {
		fmt.Fprintln(env.Stderr, Name+": dry run: nothing was written")
	}
	return nil
}

// configHint adds what to do about a config file that cannot be edited.
func configHint(err error) error {
	switch {
	case errors.Is(err, dockerconfig.ErrSymlink):
		return helper.WithHint(err, "edit the file the link points to by hand, or replace the link with a copy of that file")
	case errors.Is(err, dockerconfig.ErrReadOnly):
		return helper.WithHint(err, "make the file writable (chmod u+w) if it is meant to change, then rerun")
	}
	return err
}

// record saves the current raw value of key (null when absent) into the
// backup object. configure records a value only when it replaces it, so the
// backup holds the setting from just before this helper was set, even when
// the user changed it by hand in between.
func record(backup *dockerconfig.Object, key string, cur []byte, present bool) {
	if !present {
		cur = []byte("null")
	}
	backup.SetRaw(key, cur)
}

func quoted(s string, present bool) string {
	if !present {
		return "unset"
	}
	return fmt.Sprintf("%q", s)
}

func planConfigure(e *edit, registries []string) error {
	root, bak := e.file.Root(), e.backup.Root()
	curStore, hasStore := root.String(dockerconfig.KeyCredsStore)
	if raw, ok := root.Raw(dockerconfig.KeyMisspelled); ok {
		record(bak, dockerconfig.KeyMisspelled, raw, true)
		rawStore, _ := root.Raw(dockerconfig.KeyCredsStore)
		record(bak, dockerconfig.KeyCredsStore, rawStore, hasStore)
		mis, _ := e.file.Misspelled()
		root.Delete(dockerconfig.KeyMisspelled)
		note := fmt.Sprintf("warning: found %q (%q), a misspelling of %q that no client reads; removed it", dockerconfig.KeyMisspelled, mis, dockerconfig.KeyCredsStore)
		if len(registries) > 0 && !hasStore && mis != "" {
			root.Set(dockerconfig.KeyCredsStore, mis)
			curStore, hasStore = mis, true
			note = fmt.Sprintf("warning: found %q (%q), a misspelling of %q that no client reads; renamed it to %q", dockerconfig.KeyMisspelled, mis, dockerconfig.KeyCredsStore, dockerconfig.KeyCredsStore)
		}
		e.notes = append(e.notes, note)
	}
	changed := false
	if len(registries) == 0 {
		if curStore != helperName {
			raw, _ := root.Raw(dockerconfig.KeyCredsStore)
			record(bak, dockerconfig.KeyCredsStore, raw, hasStore)
			root.Set(dockerconfig.KeyCredsStore, helperName)
			e.notes = append(e.notes, fmt.Sprintf("set %q to %q (was %s)", dockerconfig.KeyCredsStore, helperName, quoted(curStore, hasStore)))
			changed = true
		}
		if _, helpers, err := e.file.CredHelpers(); err == nil {
			for _, h := range sortedKeys(helpers) {
				if helpers[h] != helperName {
					e.notes = append(e.notes, fmt.Sprintf("warning: %q sends %s to docker-credential-%s, not to this helper; remove that entry to use this helper for it", dockerconfig.KeyCredHelpers, h, helpers[h]))
				}
			}
		}
	} else {
		_, helpers, err := e.file.CredHelpers()
		if err != nil {
			return err
		}
		bakHelpers, _, err := bak.Object(dockerconfig.KeyCredHelpers)
		if err != nil {
			return fmt.Errorf("bad backup %s: %v", e.backup.Path, err)
		}
		if bakHelpers == nil {
			bakHelpers = dockerconfig.NewObject()
		}
		for _, r := range registries {
			prev, had := helpers[r]
			if prev == helperName {
				continue
			}
			raw, _ := json.Marshal(prev)
			record(bakHelpers, r, raw, had)
			if err := e.file.SetCredHelper(r, helperName); err != nil {
				return err
			}
			e.notes = append(e.notes, fmt.Sprintf("set %q[%q] to %q (was %s)", dockerconfig.KeyCredHelpers, r, helperName, quoted(prev, had)))
			changed = true
		}
		b, _ := bakHelpers.MarshalJSON()
		bak.SetRaw(dockerconfig.KeyCredHelpers, b)
	}
	if !changed && !e.file.Changed() {
		e.nothing = "already uses this helper; nothing to change"
	}
	return nil
}

func planUndo(e *edit) error {
	if !e.backup.Exists {
		e.nothing = "no backup (" + e.backup.Path + "); nothing to undo"
		return nil
	}
	root, bak := e.file.Root(), e.backup.Root()
	restore := func(key string) {
		raw, ok := bak.Raw(key)
		if !ok {
			return
		}
		if string(raw) == "null" {
			root.Delete(key)
			e.notes = append(e.notes, fmt.Sprintf("removed %q", key))
			return
		}
		root.SetRaw(key, raw)
		e.notes = append(e.notes, fmt.Sprintf("restored %q to %s", key, raw))
	}
	if cur, ok := root.String(dockerconfig.KeyCredsStore); ok && cur != helperName {
		e.notes = append(e.notes, fmt.Sprintf("warning: %q is %q now, not %q: left it as it is", dockerconfig.KeyCredsStore, cur, helperName))
	} else {
		restore(dockerconfig.KeyCredsStore)
	}
	if _, ok := root.Raw(dockerconfig.KeyMisspelled); !ok {
		restore(dockerconfig.KeyMisspelled)
	}
	bakHelpers, ok, err := bak.Object(dockerconfig.KeyCredHelpers)
	if err != nil {
		return fmt.Errorf("bad backup %s: %v", e.backup.Path, err)
	}
	if ok {
		_, helpers, err := e.file.CredHelpers()
		if err != nil {
			return err
		}
		for _, h := range bakHelpers.Keys() {
			if helpers[h] != helperName {
				continue
			}
			prev, _ := bakHelpers.String(h)
			if err := e.file.SetCredHelper(h, prev); err != nil {
				return err
			}
			e.notes = append(e.notes, fmt.Sprintf("restored %q[%q] to %s", dockerconfig.KeyCredHelpers, h, quoted(prev, prev != "")))
		}
	}
	if !e.file.Changed() {
		e.notes = append(e.notes, "nothing to restore")
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
