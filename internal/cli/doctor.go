package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/config"
	"github.com/notaryproject/docker-credential-notation/internal/dockerconfig"
)

// doctorListTimeout bounds the store's List: a keychain behind a hung D-Bus
// must not hang doctor.
const doctorListTimeout = 10 * time.Second

// executable is os.Executable; tests replace it.
var executable = os.Executable

// The statuses of a check. FAIL makes doctor exit 1.
const (
	statusOK   = "OK"
	statusWarn = "WARN"
	statusFail = "FAIL"
)

// check is one line of doctor's report.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	// Fix says what to do; empty when Status is OK.
	Fix string `json:"fix,omitempty"`
}

// doctorReport is doctor's --json output.
type doctorReport struct {
	OK       bool             `json:"ok"`
	Checks   []check          `json:"checks"`
	Settings []config.Setting `json:"settings,omitempty"`
}

func doctorCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:      "doctor",
		Usage:     "check the store, its key and permissions, and whether docker and notation use this helper; exit 1 when something fails",
		UsageText: Name + " doctor [--json] [--registry HOST ...]",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "json", Usage: "print JSON"},
			&ucli.StringSliceFlag{Name: "registry", Usage: "also check the stored credential against this registry, as the check command does; repeatable"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q", c.Args().First())
			}
			rep := doctor(c.Context, env)
			for _, r := range c.StringSlice("registry") {
				rep.Checks = append(rep.Checks, doctorRegistry(c.Context, env, r))
			}
			rep.OK = rep.failures() == 0
			if c.Bool("json") {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				for _, ch := range rep.Checks {
					fmt.Fprintf(env.Stdout, "%-4s  %-10s %s\n", ch.Status, ch.Name, ch.Detail)
					if ch.Fix != "" {
						fmt.Fprintf(env.Stdout, "      %-10s fix: %s\n", "", ch.Fix)
					}
				}
			}
			if n := rep.failures(); n > 0 {
				return fmt.Errorf("doctor found %d failing checks", n)
			}
			return nil
		},
	}
}

func (r doctorReport) failures() int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == statusFail {
			n++
		}
	}
	return n
}

func doctor(ctx context.Context, env *Env) doctorReport {
	var rep doctorReport
	add := func(name, status, detail, fix string) {
		rep.Checks = append(rep.Checks, check{name, status, detail, fix})
	}
	add("version", statusOK, fmt.Sprintf("%s (%s) %s", Name, env.Package, env.Version), "")

	cfg, err := config.Load(env.Getenv)
	if err != nil {
		add("config", statusFail, err.Error(), "correct the setting named above; '"+Name+" config' shows every setting")
	} else {
		rep.Settings = cfg.Settings()
		found := "not found, defaults apply"
		if cfg.ConfigFileFound {
			found = "found"
		}
		var nonDefault []string
		for _, s := range rep.Settings {
			if s.Source != "default" && s.Name != "config" {
				nonDefault = append(nonDefault, fmt.Sprintf("%s=%s (%s)", s.Name, s.Value, s.Source))
			}
		}
		detail := fmt.Sprintf("config file %s (%s); backend %s; store directory %s", cfg.ConfigFile, found, cfg.Backend, cfg.StoreDir)
		if len(nonDefault) > 0 {
			detail += "; set: " + strings.Join(nonDefault, ", ")
		}
		add("config", statusOK, detail, "")
		doctorStore(ctx, env, cfg, add)
	}
	for _, t := range []struct{ name, flag string }{{"docker", "--docker"}, {"notation", "--notation"}} {
		doctorClient(env, t.name, t.flag, add)
	}
	doctorPath(env, add)

	rep.OK = rep.failures() == 0
	return rep
}

func doctorStore(ctx context.Context, env *Env, cfg *config.Config, add func(name, status, detail, fix string)) {
	store, err := env.OpenStore(ctx, cfg, env)
	if err != nil {
		add("backend", statusFail, fmt.Sprintf("backend %s: %v", cfg.Backend, err), hintOr(err, "set "+config.EnvBackend+"=file to use the encrypted file store"))
		return
	}
	add("backend", statusOK, store.Description, "")

	lctx, cancel := context.WithTimeout(ctx, doctorListTimeout)
	list, err := store.Store.List(lctx)
	cancel()
	switch {
	case isLocked(err):
		add("store", statusWarn, "locked: the protected key is not unlocked, so whether the store decrypts is not checked", "run '"+Name+" unlock'")
	case err != nil:
		add("store", statusFail, "failed to read the store: "+err.Error(), hintOr(err, "check the key source and that the keychain is unlocked; '"+Name+" config' shows the key"))
	default:
		add("store", statusOK, fmt.Sprintf("readable and decrypts; %d credentials", len(list)), "")
	}

	if store.KeySource != nil {
		src, origin, err := store.KeySource()
		if err != nil {
			add("key", statusFail, "key source: "+err.Error(), hintOr(err, "set "+config.EnvKeySource+" and the variable it reads"))
		} else {
			add("key", statusOK, src+" ("+origin+")", "")
		}
	}
	if store.Keys != nil {
		p, beside := store.Keys.Protection()
		if beside {
			add("protection", statusWarn, p, "run '"+Name+" protect --passphrase' to encrypt the key with a passphrase, then '"+Name+" unlock' once per session")
		} else {
			add("protection", statusOK, p, "")
		}
	}
	doctorPerms(cfg.StoreDir, add)
}

// doctorPerms checks that the store directory is 0700 and its files 0600.
func doctorPerms(dir string, add func(name, status, detail, fix string)) {
	if runtime.GOOS == "windows" {
		return // ACLs, not mode bits, protect the directory there
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		add("perms", statusOK, dir+" does not exist yet (created 0700 on the first store)", "")
		return
	case err != nil:
		add("perms", statusFail, err.Error(), "")
		return
	}
	var bad []string
	var fixes []string
	if fi.Mode().Perm()&0o077 != 0 {
		bad = append(bad, fmt.Sprintf("%s is %04o", dir, fi.Mode().Perm()))
		fixes = append(fixes, "chmod 700 "+dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		add("perms", statusFail, fmt.Sprintf("failed to read %s: %v", dir, err), "")
		return
	}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		if info.Mode().Perm()&0o077 != 0 {
			p := filepath.Join(dir, e.Name())
			bad = append(bad, fmt.Sprintf("%s is %04o", p, info.Mode().Perm()))
			fixes = append(fixes, "chmod 600 "+p)
		}
	}
	if len(bad) > 0 {
		add("perms", statusWarn, "readable by others: "+strings.Join(bad, ", "), strings.Join(fixes, "; "))
		return
	}
	add("perms", statusOK, dir+" is 0700 and its files 0600", "")
}

// doctorClient checks that a client's config.json selects this helper.
func doctorClient(env *Env, client, flag string, add func(name, status, detail, fix string)) {
	configureFix := Name + " configure " + flag
	var path string
	var err error
	if client == "docker" {
		path, err = dockerconfig.DockerPath(env.Getenv)
	} else {
		path, err = dockerconfig.NotationPath(env.Getenv)
	}
	if err != nil {
		add(client, statusWarn, "cannot find its config.json: "+err.Error(), "")
		return
	}
	f, err := dockerconfig.Load(path)
	if err != nil {
		add(client, statusFail, err.Error(), "repair or remove the file, then run '"+configureFix+"'")
		return
	}
	root := f.Root()
	_, hasStore := root.Raw(dockerconfig.KeyCredsStore)
	_, hasHelpers := root.Raw(dockerconfig.KeyCredHelpers)
	_, hasAuths := root.Raw(dockerconfig.KeyAuths)
	if client == "notation" && !hasStore && !hasHelpers && !hasAuths {
		// notation falls back to docker's config.json when its own selects
		// nothing: it uses this helper if docker's file selects it.
		detail := "falls back to docker's config.json (" + path + " selects no helper)"
		if dockerSelectsHelper(env) {
			add(client, statusOK, detail+", which selects this helper", "")
		} else {
			add(client, statusWarn, detail+", which does not select this helper", "run '"+configureFix+"'")
		}
		return
	}
	if mis, ok := f.Misspelled(); ok {
		add(client, statusWarn, fmt.Sprintf("%s has %q (%q), a misspelling of %q that %s ignores", path, dockerconfig.KeyMisspelled, mis, dockerconfig.KeyCredsStore, client), "run '"+configureFix+"' (it renames the key)")
	}
	hosts, helpers, err := f.CredHelpers()
	if err != nil {
		add(client, statusFail, fmt.Sprintf("%s: %v", path, err), "repair the file")
		return
	}
	var ours, others []string
	for _, h := range hosts {
		if helpers[h] == helperName {
			ours = append(ours, h)
		} else {
			others = append(others, fmt.Sprintf("%s -> docker-credential-%s", h, helpers[h]))
		}
	}
	store := f.CredsStore()
	switch {
	case store == helperName:
		add(client, statusOK, fmt.Sprintf("%s: credsStore is %q", path, helperName), "")
	case len(ours) > 0:
		add(client, statusOK, fmt.Sprintf("%s: credHelpers send %s to this helper", path, strings.Join(ours, ", ")), "")
	case store != "":
		add(client, statusWarn, fmt.Sprintf("%s: credsStore is %q: %s uses docker-credential-%s, not this helper", path, store, client, store), "run '"+configureFix+"'")
	default:
		add(client, statusWarn, fmt.Sprintf("%s does not select this helper", path), "run '"+configureFix+"'")
	}
	if len(others) > 0 {
		add(client, statusWarn, "credHelpers send these registries to other helpers: "+strings.Join(others, ", "), "remove those entries from "+path+" if this helper should hold their credentials")
	}
	auths, err := f.Auths()
	if err != nil {
		add(client, statusWarn, fmt.Sprintf("%s: %v", path, err), "")
		return
	}
	var plain, tokens []string
	for _, a := range auths {
		switch {
		case a.Username != "" || a.Password != "" || a.IdentityToken != "":
			plain = append(plain, a.Host)
		case a.RegistryToken != "":
			tokens = append(tokens, a.Host)
		}
	}
	if len(tokens) > 0 {
		add(client, statusWarn, fmt.Sprintf("%s holds plaintext registry tokens for %s, which no helper can hold", path, strings.Join(tokens, ", ")), "log out of those registries and log in again once "+client+" uses this helper")
	}
	if len(plain) > 0 {
		fix := "run '" + Name + " import --from-config " + client + " --remove-plaintext'"
		add(client, statusWarn, fmt.Sprintf("%s holds plaintext credentials for %s", path, strings.Join(plain, ", ")), fix)
	}
}

// doctorPath checks that clients find this binary under the name they call.
func doctorPath(env *Env, add func(name, status, detail, fix string)) {
	found, err := lookPath(env.Getenv, Name)
	if err != nil {
		add("path", statusFail, Name+" is not on PATH: docker and notation cannot run it", "put the directory that holds "+Name+" on PATH")
		return
	}
	self, err := executable()
	if err != nil {
		add("path", statusOK, "found "+found, "")
		return
	}
	if sameFile(found, self) {
		add("path", statusOK, "clients run "+found+" (this binary)", "")
		return
	}
	add("path", statusWarn, fmt.Sprintf("clients run %s, which is not this binary (%s)", found, self), "remove the other copy or put this binary's directory first on PATH")
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(fa, fb)
}

func hintOr(err error, fallback string) string {
	if h := helper.Hint(err); h != "" {
		return h
	}
	return fallback
}

// dockerSelectsHelper reports whether docker's config.json names this helper
// in credsStore or in a credHelpers entry.
func dockerSelectsHelper(env *Env) bool {
	path, err := dockerconfig.DockerPath(env.Getenv)
	if err != nil {
		return false
	}
	f, err := dockerconfig.Load(path)
	if err != nil {
		return false
	}
	if f.CredsStore() == helperName {
		return true
	}
	_, helpers, _ := f.CredHelpers()
	for _, h := range helpers {
		if h == helperName {
			return true
		}
	}
	return false
}

// doctorRegistry runs the check command's flow against one registry; its
// report is condensed to its result line.
func doctorRegistry(ctx context.Context, env *Env, registry string) check {
	var out bytes.Buffer
	quiet := *env
	quiet.Stdout = &out
	err := runCheck(ctx, &quiet, registryArgs{registry: registry})
	result := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(l, "result:"); ok {
			result = strings.TrimSpace(v)
		}
	}
	if err != nil {
		return check{Name: "registry", Status: statusFail, Detail: registry + ": " + err.Error(), Fix: hintOr(err, "run '"+Name+" check "+registry+"' for the details")}
	}
	return check{Name: "registry", Status: statusOK, Detail: registry + ": " + result}
}
