package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
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
	// Username is returned with the access token; empty means
	// "oauth2accesstoken".
	Username string `json:"username,omitempty"`
	// Insecure allows plain HTTP to a provider that is not on a loopback
	// address (certificates are always checked).
	Insecure bool `json:"insecure,omitempty"`
	// Timeout bounds each request to the provider, as a Go duration ("5s");
	// empty means 5 seconds.
	Timeout string `json:"timeout,omitempty"`

	// ClientSecret is refused with a message: secrets never go in the file.
	ClientSecret *string `json:"clientSecret,omitempty"`
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
	if r.ClientID == "" {
		return errors.New(`no "clientID"`)
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
	if r.ClientSecretEnv != "" && strings.ContainsAny(r.ClientSecretEnv, "= \t\n\x00") {
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
