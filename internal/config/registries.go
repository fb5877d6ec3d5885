package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
	"github.com/notaryproject/docker-credential-notation/internal/hostpattern"
)

// Registry is one registry's token-exchange settings, under "registries" in
// the config file, keyed by the registry's server URL. Secrets are never in
// the file: a client secret comes from the environment variable named by
// ClientSecretEnv.
type Registry struct {
	// Issuer is the OpenID Provider's issuer URL; its discovery document
	// gives the endpoints not set below.
	Issuer string `json:"issuer,omitempty"`
	// TokenURL is the OAuth2 token endpoint; empty means the issuer's.
	TokenURL string `json:"tokenURL,omitempty"`
	// DeviceAuthURL is the device authorization endpoint (RFC 8628); empty
	// means the issuer's.
	DeviceAuthURL string `json:"deviceAuthorizationURL,omitempty"`
	// ClientID is the OAuth2 client id. Required.
	ClientID string `json:"clientID,omitempty"`
	// ClientSecretEnv names the environment variable that holds the client
	// secret of a confidential client; empty means a public client.
	ClientSecretEnv string `json:"clientSecretEnv,omitempty"`
	// Scopes are requested at login; empty means "openid offline_access"
	// with an issuer and none without.
	Scopes []string `json:"scopes,omitempty"`
	// Username is returned with the access token; empty means the token
	// exchange's default (tokenexchange.DefaultUsername).
	Username string `json:"username,omitempty"`
	// Insecure allows plain HTTP to a provider that is not on a loopback
	// address (certificates are always checked).
	Insecure bool `json:"insecure,omitempty"`
	// Timeout bounds each request to the provider, as a Go duration ("5s");
	// empty means the token exchange's default (tokenexchange.DefaultTimeout).
	Timeout string `json:"timeout,omitempty"`

	// SubjectToken makes the registry a workload registry: get exchanges
	// the platform token it names (RFC 8693) for the registry credential,
	// and nothing is stored or logged in. Nil means a refresh-token
	// registry (login).
	SubjectToken *SubjectToken `json:"subjectToken,omitempty"`
	// SubjectTokenType is the subject_token_type of the exchange; empty
	// means urn:ietf:params:oauth:token-type:jwt.
	SubjectTokenType string `json:"subjectTokenType,omitempty"`
	// Audience and Resource are the exchange's audience and resource
	// parameters; empty sends none.
	Audience string `json:"audience,omitempty"`
	Resource string `json:"resource,omitempty"`
	// RequestedTokenType is the exchange's requested_token_type; empty
	// sends none.
	RequestedTokenType string `json:"requestedTokenType,omitempty"`
	// TokenParams are extra form fields of the exchange (Docker Hub's
	// connection_id). The exchange's own fields cannot be replaced.
	TokenParams map[string]string `json:"tokenParams,omitempty"`

	// ClientSecret is refused with a message: secrets never go in the file.
	ClientSecret *string `json:"clientSecret,omitempty"`
}

// SubjectToken names where a workload's platform token comes from: exactly
// one field is set.
type SubjectToken struct {
	// File is an absolute path, read at each exchange (a projected
	// Kubernetes token or GitLab's id_tokens file rotates).
	File string `json:"file,omitempty"`
	// Env names the environment variable that holds the token.
	Env string `json:"env,omitempty"`
	// GitHubActions asks the Actions runner for a token with this audience
	// (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, set with
	// permissions: id-token: write).
	GitHubActions *GitHubActions `json:"githubActions,omitempty"`
	// KubernetesServiceAccount takes the pod's service-account token from
	// kubelet's request (kubelet-provider only).
	KubernetesServiceAccount *struct{} `json:"kubernetesServiceAccount,omitempty"`
}

// GitHubActions is the GitHub Actions subject token source.
type GitHubActions struct {
	// Audience is the token's aud claim. Required.
	Audience string `json:"audience,omitempty"`
}

// Describe names the source for messages, never its value.
func (t *SubjectToken) Describe() string {
	switch {
	case t == nil:
		return "none"
	case t.File != "":
		return "file " + t.File
	case t.Env != "":
		return "environment variable " + t.Env
	case t.GitHubActions != nil:
		return "GitHub Actions (audience " + t.GitHubActions.Audience + ")"
	case t.KubernetesServiceAccount != nil:
		return "the pod's Kubernetes service account (kubelet)"
	}
	return "none"
}

// exchangeFields are the token exchange's own form fields, which
// tokenParams cannot replace.
var exchangeFields = []string{"grant_type", "subject_token", "subject_token_type", "actor_token", "actor_token_type",
	"audience", "resource", "scope", "requested_token_type", "client_id", "client_secret"}

func (t *SubjectToken) check() error {
	n := 0
	if t.File != "" {
		n++
		if !filepath.IsAbs(t.File) {
			return fmt.Errorf("invalid \"subjectToken\" file %q: want an absolute path", t.File)
		}
	}
	if t.Env != "" {
		n++
		if !isVarName(t.Env) {
			return fmt.Errorf("invalid \"subjectToken\" env %q: not a variable name", t.Env)
		}
	}
	if t.GitHubActions != nil {
		n++
		if t.GitHubActions.Audience == "" {
			return errors.New(`"subjectToken" githubActions needs an "audience" (the one the provider expects)`)
		}
	}
	if t.KubernetesServiceAccount != nil {
		n++
	}
	if n != 1 {
		return errors.New(`"subjectToken" must name exactly one source: "file", "env", "githubActions" or "kubernetesServiceAccount"`)
	}
	return nil
}

func isVarName(s string) bool {
	return s != "" && !strings.ContainsAny(s, "= \t\n\x00")
}

// maxTimeout bounds a registry's timeout: every request of a `docker pull`
// may wait this long.
const maxTimeout = 5 * time.Minute

// TimeoutDuration returns the parsed timeout; zero means the default.
// Load has checked it.
func (r Registry) TimeoutDuration() time.Duration {
	d, _ := time.ParseDuration(r.Timeout)
	return d
}

// Check reports the first problem with the settings, naming the field. It
// does not check the server URL they are keyed by (package helper does).
func (r Registry) Check() error {
	if r.ClientSecret != nil {
		return errors.New(`"clientSecret" must not be in the config file: name the environment variable that holds it in "clientSecretEnv"`)
	}
	if r.SubjectToken != nil {
		if err := r.SubjectToken.check(); err != nil {
			return err
		}
		if r.DeviceAuthURL != "" {
			return errors.New(`"deviceAuthorizationURL" is for login, and a registry with "subjectToken" has none`)
		}
		for k := range r.TokenParams {
			if k == "" || slices.Contains(exchangeFields, k) {
				return fmt.Errorf("invalid \"tokenParams\" field %q: the exchange sets it itself", k)
			}
		}
	} else {
		if r.ClientID == "" {
			return errors.New(`no "clientID"`)
		}
		for _, f := range []struct{ name, v string }{{"subjectTokenType", r.SubjectTokenType}, {"audience", r.Audience}, {"resource", r.Resource}, {"requestedTokenType", r.RequestedTokenType}} {
			if f.v != "" {
				return fmt.Errorf("%q applies to a workload registry only: set \"subjectToken\" too", f.name)
			}
		}
		if len(r.TokenParams) > 0 {
			return errors.New(`"tokenParams" applies to a workload registry only: set "subjectToken" too`)
		}
	}
	if r.ClientSecretEnv != "" && r.ClientID == "" {
		return errors.New(`"clientSecretEnv" needs a "clientID"`)
	}
	if r.Issuer == "" && r.TokenURL == "" {
		return errors.New(`neither "issuer" nor "tokenURL" is set`)
	}
	for _, f := range []struct{ name, v string }{{"issuer", r.Issuer}, {"tokenURL", r.TokenURL}, {"deviceAuthorizationURL", r.DeviceAuthURL}} {
		if f.v == "" {
			continue
		}
		u, err := url.Parse(f.v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return fmt.Errorf("invalid %q %q: want an absolute https URL without user information", f.name, redact(f.v))
		}
	}
	if r.ClientSecretEnv != "" && !isVarName(r.ClientSecretEnv) {
		return fmt.Errorf("invalid \"clientSecretEnv\" %q: not a variable name", r.ClientSecretEnv)
	}
	for _, s := range r.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\n\"\\") {
			return fmt.Errorf("invalid scope %q: one scope per element, no spaces", s)
		}
	}
	if r.Username == "<token>" {
		return errors.New(`"username" "<token>" would make clients take the access token for a refresh token`)
	}
	if r.Timeout != "" {
		d, err := time.ParseDuration(r.Timeout)
		if err != nil || d <= 0 || d > maxTimeout {
			return fmt.Errorf("invalid \"timeout\" %q: want a duration such as 5s, at most %v", r.Timeout, maxTimeout)
		}
	}
	return nil
}

// redact hides the user information of a URL.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// redactKey hides the user information of a registry key, with or without
// a scheme.
func redactKey(k string) string {
	if strings.Contains(k, "://") {
		return redact(k)
	}
	return strings.TrimPrefix(redact("//"+k), "//")
}

// checkRegistries checks every registry's settings.
func checkRegistries(regs map[string]Registry) error {
	keys := make([]string, 0, len(regs))
	for k := range regs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" {
			return errors.New(`invalid "registries": an empty registry name`)
		}
		if err := regs[k].Check(); err != nil {
			return fmt.Errorf("invalid \"registries\" entry %q: %v", redactKey(k), err)
		}
	}
	if _, err := hostpattern.NewTable(keys, func(string) (string, bool) { return "", false }); err != nil {
		return fmt.Errorf("invalid \"registries\": %v", err)
	}
	return nil
}

// registrySettings lists the registries' settings for display, one line
// each, never a secret.
func (c *Config) registrySettings() []Setting {
	keys := make([]string, 0, len(c.Registries))
	for k := range c.Registries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []Setting
	for _, k := range keys {
		r := c.Registries[k]
		parts := []string{}
		add := func(name, v string) {
			if v != "" {
				parts = append(parts, name+"="+v)
			}
		}
		add("issuer", r.Issuer)
		add("tokenURL", r.TokenURL)
		add("deviceAuthorizationURL", r.DeviceAuthURL)
		add("clientID", r.ClientID)
		add("clientSecretEnv", r.ClientSecretEnv)
		add("scopes", strings.Join(r.Scopes, ","))
		add("username", r.Username)
		if r.Insecure {
			add("insecure", "true")
		}
		add("timeout", r.Timeout)
		if r.SubjectToken != nil {
			add("subjectToken", r.SubjectToken.Describe())
		}
		add("subjectTokenType", r.SubjectTokenType)
		add("audience", r.Audience)
		add("resource", r.Resource)
		add("requestedTokenType", r.RequestedTokenType)
		params := make([]string, 0, len(r.TokenParams))
		for k, v := range r.TokenParams {
			params = append(params, k+"="+v)
		}
		slices.Sort(params)
		add("tokenParams", strings.Join(params, ","))
		out = append(out, Setting{Name: "registries." + k, Value: strings.Join(parts, " "), Source: "config file"})
	}
	return out
}

// SaveRegistry sets the token-exchange settings of one registry in the
// config file at path, keeping every other setting, and creates the file
// (mode 0600, its directory 0700) when there is none. name is the key to
// write, normally the registry's normalized server URL; replace lists other
// keys (spellings of the same registry) to remove.
//
// The new file is written to a temporary file in the same directory,
// fsynced and renamed into place, so a reader sees the old file or the new
// one. The caller serializes concurrent writers (a lock beside the file).
func SaveRegistry(path, name string, r Registry, replace ...string) error {
	if err := r.Check(); err != nil {
		return fmt.Errorf("invalid settings for %s: %v", name, err)
	}
	var fc file
	mode := os.FileMode(0o600)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("failed to read config file %s: %v", path, err)
	case len(b) > maxConfigFile:
		return fmt.Errorf("failed to read config file %s: larger than %d bytes", path, maxConfigFile)
	default:
		p, err := ParseFile(b)
		if err != nil {
			return fmt.Errorf("failed to parse config file %s: %v; it was not changed", path, err)
		}
		fc = *p
	}
	if fc.Registries == nil {
		fc.Registries = map[string]Registry{}
	}
	for _, k := range replace {
		delete(fc.Registries, k)
	}
	fc.Registries[name] = r
	out, err := json.MarshalIndent(&fc, "", "  ")
	if err != nil {
		return err
	}
	out = append(out, '\n')
	if err := atomicfile.WriteFile(path, out, atomicfile.Options{Perm: mode}); err != nil {
		return fmt.Errorf("failed to write config file %s: %v", path, err)
	}
	return nil
}

// RegistryEntry returns the key of the "registries" entry whose settings
// apply to the registry key (helper.Key's spelling: host[:port][/path]):
// the exact entry, else for a host without a path the most specific
// pattern. exactKey turns an exact entry's key into that spelling (every
// spelling of a registry then finds it). ok is false when none applies.
func (c *Config) RegistryEntry(key string, exactKey func(string) (string, bool)) (entry string, ok bool) {
	keys := make([]string, 0, len(c.Registries))
	for k := range c.Registries {
		keys = append(keys, k)
	}
	t, err := hostpattern.NewTable(keys, exactKey)
	if err != nil {
		return "", false // Load refused such a file already
	}
	if !strings.Contains(key, "/") {
		return t.Lookup(key)
	}
	for _, k := range keys {
		if e, ok := exactKey(k); ok && !hostpattern.IsPattern(k) && e == key {
			return k, true
		}
	}
	return "", false
}

// Settings of token and check, read from the environment when they run
// (an invalid value fails them, not every get).
const (
	// EnvHTTPTimeout bounds each request of token and check (a Go duration
	// such as 5s); unset means the registry client's default.
	EnvHTTPTimeout = EnvPrefix + "HTTP_TIMEOUT"
	// EnvCertsDirs replaces the certs.d roots read for CA and client
	// certificates (a list separated like PATH); unset means docker's.
	EnvCertsDirs = EnvPrefix + "CERTS_DIRS"
)

// HTTPTimeout returns EnvHTTPTimeout; 0 when it is unset.
func HTTPTimeout(getenv func(string) string) (time.Duration, error) {
	v := getenv(EnvHTTPTimeout)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid %s %q: want a positive duration such as 5s", EnvHTTPTimeout, v)
	}
	return d, nil
}

// CertsDirs returns the absolute directories of EnvCertsDirs; nil when it
// is unset (then the defaults apply), empty when it names none.
func CertsDirs(getenv func(string) string) ([]string, error) {
	v := getenv(EnvCertsDirs)
	if v == "" {
		return nil, nil
	}
	dirs := []string{}
	for _, d := range filepath.SplitList(v) {
		if d == "" {
			continue
		}
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("invalid %s: %q must be an absolute path", EnvCertsDirs, d)
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}
