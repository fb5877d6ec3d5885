package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/config"
	"github.com/notaryproject/docker-credential-notation/internal/registryauth"
)

// The environment variables of the token and check commands.
const (
	// EnvInsecureRegistries lists hosts (host or host:port, separated by
	// commas or spaces) that token and check may reach over plain HTTP.
	// Loopback hosts always may, and so may registries with "insecure":
	// true in the config file's "registries".
	EnvInsecureRegistries = config.EnvPrefix + "INSECURE_REGISTRIES"
)

// registryFlags are the options of token and check. They are declared for
// the help text; registryArgs parses them, before and after the registry.
func registryFlags(withScope bool) []ucli.Flag {
	fs := []ucli.Flag{
		&ucli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP to this registry (never disables certificate checks; loopback hosts are always allowed; also " + EnvInsecureRegistries + ")"},
		&ucli.DurationFlag{Name: "timeout", Usage: "bound each request (also " + config.EnvHTTPTimeout + ")", Value: registryauth.DefaultTimeout},
		&ucli.BoolFlag{Name: "no-cache", Usage: "ignore the remembered challenge and tokens and ask the registry and its token server afresh (what they answer replaces the memory)"},
		&ucli.BoolFlag{Name: "json", Usage: "print JSON, with how the answer was obtained (cached, requests)"},
	}
	if withScope {
		fs = append(fs, &ucli.StringSliceFlag{Name: "scope", Usage: "a scope to request, such as repository:NAME:pull or repository:NAME:pull,push; repeatable"})
	}
	return fs
}

func tokenCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:            "token",
		Usage:           "print a registry access token obtained with the stored credential (for scripts and curl)",
		UsageText:       Name + " token <registry> [--scope repository:NAME:pull[,push]]... [--json] [--no-cache] [--insecure] [--timeout 5s]",
		Flags:           registryFlags(true),
		SkipFlagParsing: true,
		Action: func(c *ucli.Context) error {
			a, err := parseRegistryArgs(c)
			if err != nil || a.help {
				return err
			}
			return runToken(c.Context, env, a)
		},
	}
}

func checkCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:            "check",
		Usage:           "report whether the stored credential authenticates to a registry, with the scheme, realm and service it asks for",
		UsageText:       Name + " check <registry> [--json] [--scope repository:NAME:pull]... [--no-cache] [--insecure] [--timeout 5s]",
		Flags:           registryFlags(true),
		SkipFlagParsing: true,
		Action: func(c *ucli.Context) error {
			a, err := parseRegistryArgs(c)
			if err != nil || a.help {
				return err
			}
			return runCheck(c.Context, env, a)
		},
	}
}

// registryArgs are the parsed arguments of token and check.
type registryArgs struct {
	registry   string
	scopes     []string
	insecure   bool
	timeout    time.Duration
	timeoutSet bool
	json       bool
	noCache    bool
	help       bool
}

// parseRegistryArgs parses the command's arguments, taking options both
// before and after the registry (`token <registry> --scope …`), which
// urfave/cli does not.
func parseRegistryArgs(c *ucli.Context) (registryArgs, error) {
	var a registryArgs
	fs := flag.NewFlagSet(c.Command.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Func("scope", "", func(s string) error {
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " \t\r\n") {
			return fmt.Errorf("invalid scope %q: want resource:name:actions without spaces", s)
		}
		a.scopes = append(a.scopes, s)
		return nil
	})
	fs.BoolVar(&a.insecure, "insecure", false, "")
	fs.Func("timeout", "", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return fmt.Errorf("invalid timeout %q: want a positive duration such as 5s", s)
		}
		a.timeout, a.timeoutSet = d, true
		return nil
	})
	fs.BoolVar(&a.json, "json", false, "")
	fs.BoolVar(&a.noCache, "no-cache", false, "")
	fs.BoolVar(&a.help, "help", false, "")
	fs.BoolVar(&a.help, "h", false, "")

	var positional []string
	args := c.Args().Slice()
	for {
		if err := fs.Parse(args); err != nil {
			return a, helper.WithHint(fmt.Errorf("%s: %v", c.Command.Name, err), fmt.Sprintf("run '%s %s --help'", Name, c.Command.Name))
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if a.help {
		return a, ucli.ShowCommandHelp(c.Lineage()[1], c.Command.Name)
	}
	switch len(positional) {
	case 0:
		return a, helper.WithHint(fmt.Errorf("%s: no registry given", c.Command.Name), "usage: "+c.Command.UsageText)
	case 1:
		a.registry = positional[0]
	default:
		return a, helper.WithHint(fmt.Errorf("%s: unexpected argument %q", c.Command.Name, positional[1]), "usage: "+c.Command.UsageText)
	}
	return a, nil
}

// registrySession is what token and check share: the endpoint, the store,
// the stored credential (nil when there is none) and the client.
type registrySession struct {
	endpoint registryauth.Endpoint
	store    helper.Store
	cred     *helper.Credentials
	// lookupErr is why there is no credential.
	lookupErr error
	client    *registryauth.Client
	timeout   time.Duration
}

func openRegistry(ctx context.Context, env *Env, a registryArgs, unconfirmed bool) (*registrySession, error) {
	ep, err := registryauth.ParseRegistry(a.registry)
	if err != nil {
		return nil, err
	}
	store, cfg, err := open(ctx, env)
	if err != nil {
		return nil, err
	}
	s := &registrySession{endpoint: ep, store: store.Store}
	cred, err := store.Store.Get(ctx, ep.Key)
	switch {
	case err == nil:
		s.cred = &cred
	case errors.Is(err, helper.ErrNotFound):
		s.lookupErr = fmt.Errorf("no credential is stored for %s", ep.Key)
	default:
		return nil, fmt.Errorf("failed to read the credential for %s: %w", ep.Key, err)
	}

	opts := registryauth.Options{
		Timeout:   a.timeout,
		ClientID:  registryauth.DefaultClientID,
		UserAgent: Name + "/" + env.Version,
	}
	if !a.timeoutSet {
		d, err := config.HTTPTimeout(env.Getenv)
		if err != nil {
			return nil, err
		}
		if d > 0 {
			opts.Timeout = d
		}
	}
	opts.Insecure = insecureHosts(env.Getenv, cfg, ep, a.insecure)
	if opts.CertsDirs, err = config.CertsDirs(env.Getenv); err != nil {
		return nil, err
	}
	if cfg.Debug {
		opts.Logf = func(format string, args ...any) {
			fmt.Fprintf(env.Stderr, "%s: debug: %s\n", Name, fmt.Sprintf(format, args...))
		}
	}
	s.timeout = opts.Timeout
	if s.timeout == 0 {
		s.timeout = registryauth.DefaultTimeout
	}
	opts.Challenges, opts.Tokens = memories(env, store, opts.Logf)
	opts.Refresh = a.noCache
	// token hands the token to its caller, who presents it: confirming it
	// first would cost a request per run.
	opts.Unconfirmed = unconfirmed
	s.client = registryauth.New(opts, env.Getenv)
	return s, nil
}

// memories are what token and check remember between runs: the
// challenges, in a file of the user's cache directory (nothing secret),
// and the tokens, encrypted in the store. Either is nil when it cannot be
// kept.
func memories(env *Env, store *Opened, logf func(string, ...any)) (registryauth.ChallengeMemory, registryauth.TokenMemory) {
	var (
		ch  registryauth.ChallengeMemory
		tok registryauth.TokenMemory
	)
	if dir, err := config.CacheDir(env.Getenv); err == nil {
		ch = &registryauth.ChallengeFile{Path: filepath.Join(dir, registryauth.ChallengeFileName)}
	} else if logf != nil {
		logf("no challenge memory: %v", err)
	}
	if store.RegistryTokens != nil {
		tok = &registryauth.StoreTokens{Vault: store.RegistryTokens, Logf: logf}
	}
	return ch, tok
}

// insecureHosts lists the hosts that may be reached over plain HTTP: those
// in EnvInsecureRegistries, the registry itself with --insecure, and the
// registries whose config-file settings say "insecure" (for their token
// exchange).
func insecureHosts(getenv func(string) string, cfg *config.Config, ep registryauth.Endpoint, flag bool) []string {
	hosts := strings.FieldsFunc(getenv(EnvInsecureRegistries), func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if flag {
		hosts = append(hosts, ep.Host)
	}
	// "insecure": true in a registry's token-exchange settings is about
	// its provider: it allows plain HTTP to the provider's hosts (which may
	// be the registry's token realm), never to the registry itself.
	for _, r := range cfg.Registries {
		if !r.Insecure {
			continue
		}
		for _, raw := range []string{r.Issuer, r.TokenURL, r.DeviceAuthURL} {
			if u, err := url.Parse(raw); err == nil && u.Host != "" {
				hosts = append(hosts, u.Host)
			}
		}
	}
	return hosts
}

// keepRefreshToken writes back a refresh token that the token server
// rotated, so the stored credential stays usable.
func (s *registrySession) keepRefreshToken(ctx context.Context, r *registryauth.Result) error {
	if s.cred == nil || s.cred.Username != helper.IdentityTokenUsername || r.Token == nil ||
		r.Token.RefreshToken == "" || r.Token.RefreshToken == s.cred.Secret {
		return nil
	}
	next := *s.cred
	next.Secret = r.Token.RefreshToken
	if next.ServerURL == "" {
		next.ServerURL = s.endpoint.Key.String()
	}
	if err := s.store.Put(ctx, s.endpoint.Key, next); err != nil {
		return helper.WithHint(fmt.Errorf("failed to store the refresh token the token server rotated: %w", err),
			"the stored one may no longer work; log in again")
	}
	return nil
}

// explain attaches a hint to a failure of the flow.
func (s *registrySession) explain(err error) error {
	host := s.endpoint.Key.String()
	switch {
	case errors.Is(err, registryauth.ErrRejected):
		return helper.WithHint(err, fmt.Sprintf("store the right credential, e.g. 'docker login %s'", host))
	case errors.Is(err, registryauth.ErrInsecure):
		return helper.WithHint(err, fmt.Sprintf("use HTTPS, or allow plain HTTP with --insecure or %s=%s", EnvInsecureRegistries, s.endpoint.Host))
	case errors.Is(err, context.DeadlineExceeded):
		return helper.WithHint(err, fmt.Sprintf("check that %s is reachable, or raise the timeout with --timeout or %s", host, config.EnvHTTPTimeout))
	}
	return err
}

func runToken(ctx context.Context, env *Env, a registryArgs) error {
	s, err := openRegistry(ctx, env, a, true)
	if err != nil {
		return err
	}
	defer s.client.Close()
	if s.cred == nil {
		return helper.WithHint(fmt.Errorf("failed to get a token for %s: %v", s.endpoint.Key, s.lookupErr),
			fmt.Sprintf("log in first, e.g. 'docker login %s'", s.endpoint.Key))
	}
	r, err := s.client.Authenticate(ctx, s.endpoint, s.cred, a.scopes)
	if err != nil {
		return s.explain(fmt.Errorf("failed to get a token for %s: %w", s.endpoint.Key, err))
	}
	if err := s.keepRefreshToken(ctx, r); err != nil {
		return err
	}
	switch {
	case r.Anonymous:
		return fmt.Errorf("failed to get a token for %s: the registry needs no authentication, so it issues no token", s.endpoint.Key)
	case r.Token == nil:
		return helper.WithHint(fmt.Errorf("failed to get a token for %s: the registry uses %s authentication, which has no token", s.endpoint.Key, r.Scheme),
			"send the stored user name and password instead")
	}
	if !a.json {
		_, err = fmt.Fprintln(env.Stdout, r.Token.AccessToken)
		return err
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(tokenReport{
		Registry:   s.endpoint.Host,
		Token:      r.Token.AccessToken,
		Scopes:     r.Scopes,
		ExpiresIn:  int64(r.Token.ExpiresIn / time.Second),
		ExpiresAt:  r.Token.Expiry().UTC().Format(time.RFC3339),
		Cached:     r.Cached,
		Remembered: r.Remembered,
		Requests:   r.Requests,
	})
}

// tokenReport is token --json's output.
type tokenReport struct {
	Registry  string   `json:"registry"`
	Token     string   `json:"token"`
	Scopes    []string `json:"scopes,omitempty"`
	ExpiresIn int64    `json:"expiresIn"`
	ExpiresAt string   `json:"expiresAt"`
	// Cached is set when the token was remembered from an earlier run.
	Cached bool `json:"cached"`
	// Remembered is set when the registry's challenge was remembered, so
	// /v2/ was not pinged.
	Remembered bool `json:"challengeRemembered"`
	// Requests is the number of HTTP requests this run sent.
	Requests int `json:"requests"`
}

// checkReport is check's output; its JSON form is for scripts.
type checkReport struct {
	Registry      string   `json:"registry"`
	Key           string   `json:"key"`
	URL           string   `json:"url,omitempty"`
	Anonymous     bool     `json:"anonymous"`
	Scheme        string   `json:"scheme,omitempty"`
	Realm         string   `json:"realm,omitempty"`
	Service       string   `json:"service,omitempty"`
	Scopes        []string `json:"scopes,omitempty"`
	Challenges    []string `json:"challenges,omitempty"`
	Username      string   `json:"username,omitempty"`
	Credential    string   `json:"credential"`
	Method        string   `json:"method,omitempty"`
	ExpiresIn     int64    `json:"expiresIn,omitempty"`
	ExpiresAt     string   `json:"expiresAt,omitempty"`
	Authenticated bool     `json:"authenticated"`
	// Cached, Remembered and Requests say how the answer was obtained: a
	// token remembered from an earlier run, a challenge remembered (no
	// ping), and how many HTTP requests this run sent.
	Cached     bool `json:"cached"`
	Remembered bool `json:"challengeRemembered"`
	Requests   int  `json:"requests"`
	// Failure classifies a failure: rejected, no-credential, insecure,
	// unsupported, timeout, unreachable or error.
	Failure string `json:"failure,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func runCheck(ctx context.Context, env *Env, a registryArgs) error {
	s, err := openRegistry(ctx, env, a, false)
	if err != nil {
		return err
	}
	defer s.client.Close()
	rep := checkReport{Registry: s.endpoint.Host, Key: s.endpoint.Key.String(), Credential: "none"}
	if s.cred != nil {
		rep.Username = s.cred.Username
		rep.Credential = "password"
		if s.cred.Username == helper.IdentityTokenUsername {
			rep.Credential = "identity token"
		}
	}
	r, flowErr := s.client.Authenticate(ctx, s.endpoint, s.cred, a.scopes)
	if flowErr == nil {
		flowErr = s.keepRefreshToken(ctx, r)
	}
	rep.URL, rep.Anonymous, rep.Scheme = r.PingURL, r.Anonymous, r.Scheme
	rep.Realm, rep.Service, rep.Scopes, rep.Method = r.Realm, r.Service, r.Scopes, r.Method
	for _, ch := range r.Challenges {
		rep.Challenges = append(rep.Challenges, ch.String())
	}
	if r.Token != nil {
		rep.ExpiresIn = int64(r.Token.ExpiresIn / time.Second)
		rep.ExpiresAt = r.Token.Expiry().UTC().Format(time.RFC3339)
	}
	rep.Authenticated = r.Authenticated || r.Anonymous
	rep.Cached, rep.Remembered, rep.Requests = r.Cached, r.Remembered, r.Requests

	var err2 error
	switch {
	case flowErr != nil:
		err2 = s.explain(fmt.Errorf("check failed for %s: %w", s.endpoint.Key, flowErr))
		rep.Failure = failureKind(flowErr)
		rep.Reason = flowErr.Error()
	case !rep.Authenticated && s.cred == nil:
		err2 = helper.WithHint(fmt.Errorf("check failed for %s: %v", s.endpoint.Key, s.lookupErr),
			fmt.Sprintf("log in first, e.g. 'docker login %s'", s.endpoint.Key))
		rep.Failure = "no-credential"
		rep.Reason = s.lookupErr.Error()
	}

	if a.json {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := printCheck(env.Stdout, rep); err != nil {
		return err
	}
	return err2
}

func failureKind(err error) string {
	switch {
	case errors.Is(err, registryauth.ErrRejected):
		return "rejected"
	case errors.Is(err, registryauth.ErrInsecure):
		return "insecure"
	case errors.Is(err, registryauth.ErrUnsupported):
		return "unsupported"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return "unreachable"
	}
	return "error"
}

func printCheck(w io.Writer, rep checkReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	reg := rep.Registry
	if rep.URL != "" {
		reg += " (" + rep.URL + ")"
	}
	line("registry", reg)
	switch {
	case rep.Anonymous:
		line("scheme", "none: the registry answers /v2/ without authentication")
	default:
		line("scheme", rep.Scheme)
	}
	line("realm", rep.Realm)
	line("service", rep.Service)
	line("scopes", strings.Join(rep.Scopes, " "))
	switch rep.Credential {
	case "none":
		line("credential", "none stored under "+rep.Key)
	default:
		line("credential", fmt.Sprintf("%s for user %q, stored under %s", rep.Credential, rep.Username, rep.Key))
	}
	line("method", rep.Method)
	how := fmt.Sprint(rep.Requests)
	switch {
	case rep.Remembered && rep.Cached:
		how += " (remembered challenge and token)"
	case rep.Remembered:
		how += " (remembered challenge)"
	case rep.Cached:
		how += " (remembered token)"
	}
	line("requests", how)
	if rep.ExpiresAt != "" {
		line("token", fmt.Sprintf("granted, expires in %s (at %s)", time.Duration(rep.ExpiresIn)*time.Second, rep.ExpiresAt))
	}
	switch {
	case rep.Failure != "":
		line("result", "FAILED ("+rep.Failure+")")
		line("reason", rep.Reason)
	case rep.Anonymous:
		line("result", "OK: no authentication needed")
	default:
		line("result", "OK: the registry accepts the stored credential")
	}
	return tw.Flush()
}
