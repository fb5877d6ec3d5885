package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	ucli "github.com/urfave/cli/v2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/dockerconfig"
	"github.com/notaryproject/docker-credential-notation/internal/scrub"
)

// helperCallTimeout bounds each call to another helper during import: a
// keychain may show an unlock prompt, so it is generous, but a hung helper
// must not hang the import.
const helperCallTimeout = 2 * time.Minute

func importCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:      "import",
		Usage:     "copy credentials into this helper's store from the plaintext auths of a config.json or from another credential helper, verifying each",
		UsageText: Name + " import [--from-config docker|notation|PATH] [--remove-plaintext] [--overwrite]\n" + Name + " import --from-helper NAME [--overwrite]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "from-config", Usage: `read the plaintext "auths" of docker's or notation's config.json, or of the file at PATH (default: docker)`},
			&ucli.StringFlag{Name: "from-helper", Usage: "read every credential of docker-credential-NAME (pass, secretservice, osxkeychain, wincred, …) through the protocol"},
			&ucli.BoolFlag{Name: "remove-plaintext", Usage: "once every credential is verified in the store, remove the imported secrets from config.json (the entries stay, as docker leaves them)"},
			&ucli.BoolFlag{Name: "overwrite", Usage: "replace a different credential that the store already holds for the same registry"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q", c.Args().First())
			}
			from, fromHelper := c.String("from-config"), c.String("from-helper")
			switch {
			case from != "" && fromHelper != "":
				return errors.New("--from-config and --from-helper exclude each other; run import once for each")
			case fromHelper != "" && c.Bool("remove-plaintext"):
				return errors.New("--remove-plaintext applies to --from-config only: erase the credentials from the other helper with its own tools")
			case fromHelper == "" && from == "":
				from = "docker"
			}
			return runImport(c.Context, env, from, fromHelper, c.Bool("remove-plaintext"), c.Bool("overwrite"))
		},
	}
}

// importEntry is one credential to import, or one that is skipped and why.
type importEntry struct {
	url  string
	cred helper.Credentials
	skip string
	// token is set for a plaintext registrytoken, which stays in the file.
	token bool
}

// runImport copies the credentials of a source into the configured store and
// reads each back. Entries that the store already holds unchanged count as
// imported, so an interrupted import is finished by running it again. The
// plaintext is removed only when every credential is verified.
func runImport(ctx context.Context, env *Env, from, fromHelper string, removePlaintext, overwrite bool) error {
	var (
		entries []importEntry
		srcName string
		cfgPath string
		err     error
	)
	if fromHelper != "" {
		srcName = "docker-credential-" + fromHelper
		entries, err = helperEntries(ctx, env, fromHelper)
	} else {
		cfgPath, err = configPath(env, from)
		if err != nil {
			return err
		}
		srcName = cfgPath
		entries, err = configEntries(cfgPath)
	}
	if err != nil {
		return err
	}
	opened, _, err := open(ctx, env)
	if err != nil {
		return err
	}
	store := opened.Store

	var imported, present, skipped, failed int
	var verified []importEntry
	for _, e := range entries {
		if e.skip != "" {
			fmt.Fprintf(env.Stdout, "skipped %s: %s\n", e.url, e.skip)
			skipped++
			continue
		}
		k, err := helper.ParseServerURL(e.url)
		if err != nil {
			fmt.Fprintf(env.Stdout, "skipped %s: not a server URL this helper can store: %v\n", e.url, err)
			failed++
			continue
		}
		have, err := store.Get(ctx, k)
		switch {
		case err == nil && have.Username == e.cred.Username && have.Secret == e.cred.Secret:
			fmt.Fprintf(env.Stdout, "kept %s: the store already holds this credential (username %q)\n", e.url, e.cred.Username)
			present++
			verified = append(verified, e)
			continue
		case err == nil && !overwrite:
			fmt.Fprintf(env.Stdout, "skipped %s: the store already holds a different credential (username %q); rerun with --overwrite to replace it\n", e.url, have.Username)
			failed++
			continue
		case err != nil && !errors.Is(err, helper.ErrNotFound):
			return importAbort(fmt.Errorf("failed to read %s from the store: %w", e.url, err), imported+present, srcName)
		}
		if err := store.Put(ctx, k, e.cred); err != nil {
			return importAbort(fmt.Errorf("failed to store %s: %w", e.url, err), imported+present, srcName)
		}
		got, err := store.Get(ctx, k)
		if err != nil || got.Username != e.cred.Username || got.Secret != e.cred.Secret {
			if err == nil {
				err = errors.New("the stored credential reads back different")
			}
			return importAbort(fmt.Errorf("failed to verify %s in the store: %v", e.url, err), imported+present, srcName)
		}
		fmt.Fprintf(env.Stdout, "imported %s (username %q)\n", e.url, e.cred.Username)
		imported++
		verified = append(verified, e)
	}
	fmt.Fprintf(env.Stdout, "%d imported, %d already in the store, %d skipped, %d failed, from %s\n", imported, present, skipped, failed, srcName)
	if failed > 0 {
		msg := fmt.Errorf("failed to import %d credentials from %s", failed, srcName)
		if removePlaintext {
			msg = fmt.Errorf("failed to import %d credentials from %s; no plaintext was removed", failed, srcName)
		}
		return helper.WithHint(msg, "fix what is reported above and rerun import: what is already in the store is kept")
	}
	if !removePlaintext {
		return nil
	}
	for _, e := range entries {
		if e.token {
			fmt.Fprintf(env.Stderr, "%s: import: %s keeps its registrytoken in %s: no credential helper can hold one; log in again once docker uses this helper\n", Name, e.url, cfgPath)
		}
	}
	if len(verified) == 0 {
		return nil
	}
	return removeImported(env, cfgPath, verified)
}

// importAbort reports a failure of the store itself (locked, unwritable,
// undecryptable): nothing more is tried and nothing is removed.
func importAbort(err error, done int, src string) error {
	return helper.WithHint(fmt.Errorf("%w; %d credentials were imported before this, and nothing was removed from %s", err, done, src),
		"fix the store (run '"+Name+" doctor') and rerun import: it skips what is already in the store")
}

// removeImported blanks the secrets of the verified entries in the config
// file. The file is read again, and an entry is blanked only if it still
// holds the credential that was verified, so a login in the meantime is
// never lost.
func removeImported(env *Env, path string, verified []importEntry) error {
	f, err := dockerconfig.Load(path)
	if err != nil {
		return configHint(err)
	}
	auths, err := f.Auths()
	if err != nil {
		return fmt.Errorf("failed to read %s: %v", path, err)
	}
	byURL := map[string]helper.Credentials{}
	for _, e := range verified {
		byURL[e.url] = e.cred
	}
	var removed []string
	for _, a := range auths {
		want, ok := byURL[a.Host]
		if !ok {
			continue
		}
		if c, _ := authCredentials(a); c != want {
			fmt.Fprintf(env.Stderr, "%s: import: %s changed in %s since it was imported; kept it there, rerun import\n", Name, a.Host, path)
			continue
		}
		if err := f.BlankAuth(a.Host); err != nil {
			return fmt.Errorf("failed to edit %s: %v", path, err)
		}
		removed = append(removed, a.Host)
	}
	if len(removed) == 0 || !f.Changed() {
		return nil
	}
	if err := f.Save(); err != nil {
		return helper.WithHint(configHint(err), "the credentials are in the store; rerun 'import --remove-plaintext' once the file can be written")
	}
	fmt.Fprintf(env.Stdout, "removed the plaintext credentials of %d registries from %s\n", len(removed), path)
	return nil
}

// configPath resolves --from-config.
func configPath(env *Env, from string) (string, error) {
	switch from {
	case "docker":
		p, err := dockerconfig.DockerPath(env.Getenv)
		if err != nil {
			return "", fmt.Errorf("failed to find docker's config.json: %v", err)
		}
		return p, nil
	case "notation":
		p, err := dockerconfig.NotationPath(env.Getenv)
		if err != nil {
			return "", fmt.Errorf("failed to find notation's config.json: %v", err)
		}
		return p, nil
	}
	return filepath.Abs(from)
}

// authCredentials turns a plaintext auths entry into the credential docker
// would hand a helper, or says why it cannot be imported.
func authCredentials(a dockerconfig.Auth) (helper.Credentials, string) {
	switch {
	case a.IdentityToken != "":
		// docker stores an identity token under the username "<token>".
		return helper.Credentials{ServerURL: a.Host, Username: helper.IdentityTokenUsername, Secret: a.IdentityToken}, ""
	case a.Username != "":
		return helper.Credentials{ServerURL: a.Host, Username: a.Username, Secret: a.Password}, ""
	case a.RegistryToken != "":
		return helper.Credentials{}, "it holds only a registrytoken, a bearer token that the credential helper protocol cannot carry; log in again once docker uses this helper"
	}
	return helper.Credentials{}, "no plaintext credential in the entry"
}

func configEntries(path string) ([]importEntry, error) {
	f, err := dockerconfig.Load(path)
	if err != nil {
		return nil, configHint(err)
	}
	if !f.Exists {
		return nil, fmt.Errorf("failed to import from %s: %w", path, fs.ErrNotExist)
	}
	auths, err := f.Auths()
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %v", path, err)
	}
	var out []importEntry
	for _, a := range auths {
		c, skip := authCredentials(a)
		out = append(out, importEntry{url: a.Host, cred: c, skip: skip, token: skip != "" && a.RegistryToken != ""})
	}
	return out, nil
}

// helperEntries reads every credential of docker-credential-NAME: list, then
// get for each server URL. The secrets travel on the helper's stdout only.
func helperEntries(ctx context.Context, env *Env, name string) ([]importEntry, error) {
	if name == helperName {
		return nil, errors.New("--from-helper notation is this helper: nothing to import")
	}
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, "-") {
		return nil, fmt.Errorf("invalid --from-helper %q: give the name after docker-credential-, e.g. pass", name)
	}
	prog := "docker-credential-" + name
	path, err := lookPath(env.Getenv, prog)
	if err != nil {
		return nil, helper.WithHint(fmt.Errorf("failed to find %s: %v", prog, err),
			"install it or put its directory on PATH; the names are those of docker's credsStore (pass, secretservice, osxkeychain, wincred, …)")
	}
	pf := programFunc(ctx, path, env.Stderr)
	list, err := client.List(pf)
	if err != nil {
		return nil, fmt.Errorf("failed to list the credentials of %s: %s", prog, scrub.Line(err.Error()))
	}
	urls := make([]string, 0, len(list))
	for u := range list {
		urls = append(urls, u)
	}
	slices.Sort(urls)
	var out []importEntry
	for _, u := range urls {
		c, err := helperGet(pf, u)
		switch {
		case credentials.IsErrCredentialsNotFound(err):
			out = append(out, importEntry{url: u, skip: prog + " lists it but has no credential for it"})
		case err != nil:
			return nil, helper.WithHint(fmt.Errorf("failed to read %s from %s: %v; nothing was imported", u, prog, err),
				"fix "+prog+" (is its store unlocked?) and rerun import")
		case c.Username == "":
			out = append(out, importEntry{url: u, skip: prog + " returned no username"})
		default:
			out = append(out, importEntry{url: u, cred: helper.Credentials{ServerURL: u, Username: c.Username, Secret: c.Secret}})
		}
	}
	return out, nil
}

// helperGet runs the other helper's get for serverURL, as
// docker-credential-helpers' client.Get does, except that a failure never
// quotes an answer that looks like a credential: a helper that prints one
// and exits 1 must not have it shown on the terminal or in a CI log.
func helperGet(pf client.ProgramFunc, serverURL string) (*credentials.Credentials, error) {
	p := pf(credentials.ActionGet)
	p.Input(strings.NewReader(serverURL))
	out, err := p.Output()
	msg := strings.TrimSpace(string(out))
	if err != nil {
		if credentials.IsErrCredentialsNotFoundMessage(msg) {
			return nil, credentials.NewErrCredentialsNotFound()
		}
		if strings.HasPrefix(msg, "{") || strings.Contains(strings.ToLower(msg), `"secret"`) {
			return nil, fmt.Errorf("%v (its answer is not shown: it may hold a credential)", err)
		}
		if msg == "" {
			return nil, err
		}
		return nil, fmt.Errorf("%v: %s", err, scrub.Line(msg))
	}
	var c credentials.Credentials
	if err := json.Unmarshal(out, &c); err != nil {
		return nil, fmt.Errorf("its answer is not a credential in JSON (%d bytes, not shown)", len(out))
	}
	return &c, nil
}

// programFunc runs the helper at path with a deadline per call; its stderr
// (prompts, hints) goes to the user's.
func programFunc(ctx context.Context, path string, stderr io.Writer) client.ProgramFunc {
	return func(args ...string) client.Program {
		return &program{ctx: ctx, path: path, args: args, stderr: stderr}
	}
}

type program struct {
	ctx    context.Context
	path   string
	args   []string
	in     io.Reader
	stderr io.Writer
}

func (p *program) Input(in io.Reader) { p.in = in }

// maxHelperOutput bounds what another helper may print: a list of many
// registries or one long token is well under it.
const maxHelperOutput = 16 << 20

func (p *program) Output() ([]byte, error) {
	ctx, cancel := context.WithTimeout(p.ctx, helperCallTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.path, p.args...)
	cmd.Stdin = p.in
	cmd.Stderr = p.stderr
	var out limitedBuffer
	out.max = maxHelperOutput
	cmd.Stdout = &out
	err := cmd.Run()
	if ctx.Err() != nil && err != nil {
		err = fmt.Errorf("no answer within %v", helperCallTimeout)
	}
	return out.Bytes(), err
}

type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, fmt.Errorf("output larger than %d bytes", b.max)
	}
	return b.Buffer.Write(p)
}

// lookPath finds an executable named file in the directories of PATH as
// getenv sees it (exec.LookPath reads the process's own environment).
func lookPath(getenv func(string) string, file string) (string, error) {
	exts := []string{""}
	if runtime.GOOS == "windows" {
		exts = []string{".exe", ".bat", ".cmd", ""}
	}
	for _, dir := range filepath.SplitList(getenv("PATH")) {
		if dir == "" || !filepath.IsAbs(dir) {
			// A relative PATH entry would depend on the working directory.
			continue
		}
		for _, ext := range exts {
			p := filepath.Join(dir, file+ext)
			fi, err := os.Stat(p)
			if err != nil || fi.IsDir() {
				continue
			}
			if runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0 {
				continue
			}
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}
