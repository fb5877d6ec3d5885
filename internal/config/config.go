// Package config resolves the helper's settings from, in order of
// precedence, environment variables, the config file and built-in defaults,
// and remembers where each value came from.
//
// docker runs `docker-credential-notation get` with no flags, so every
// setting has an environment variable (prefix DOCKER_CREDENTIAL_NOTATION_)
// and a default that works on a fresh machine. Secrets (an identity, a
// passphrase) come only from the environment, never from the config file.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/userdir"
)

// EnvPrefix starts every environment variable the helper reads.
const EnvPrefix = "DOCKER_CREDENTIAL_NOTATION_"

// The environment variables.
const (
	EnvConfig       = EnvPrefix + "CONFIG"
	EnvBackend      = EnvPrefix + "BACKEND"
	EnvStoreDir     = EnvPrefix + "STORE_DIR"
	EnvKeySource    = EnvPrefix + "KEY_SOURCE"
	EnvIdentity     = EnvPrefix + "IDENTITY"
	EnvIdentityFile = EnvPrefix + "IDENTITY_FILE"
	EnvPassphrase   = EnvPrefix + "PASSPHRASE"
	EnvDebug        = EnvPrefix + "DEBUG"
	EnvUnlockFor    = EnvPrefix + "UNLOCK_FOR"
)

// DefaultUnlockFor is how long an unlocked key is kept by default: a
// working day.
const DefaultUnlockFor = 8 * time.Hour

// AppDirName is the helper's directory under the user's config directory.
const AppDirName = "docker-credential-notation"

// ConfigFileName is the config file's name in that directory.
const ConfigFileName = "config.json"

// maxConfigFile bounds the config file read; a real one is a few lines.
const maxConfigFile = 1 << 20

// Backends.
const (
	BackendAuto     = "auto"
	BackendFile     = "file"
	BackendKeychain = "keychain"
)

// Config is the effective configuration.
type Config struct {
	// Backend is "auto", "file" or "keychain". auto keeps using the backend
	// that already holds credentials, and otherwise picks the keychain when
	// one is reachable and the encrypted file store when not.
	Backend string
	// StoreDir holds the file store, its generated identity and its lock.
	StoreDir string
	// KeySource is the file store's key source: auto, identity,
	// identity-file, passphrase, generated, protected or keychain.
	KeySource string
	// Identity holds age identities. Secret: environment only.
	Identity string
	// IdentityFile is the path of an age identity file.
	IdentityFile string
	// Passphrase encrypts the file store with scrypt. Secret: environment only.
	Passphrase string
	// Debug writes a redacted trace of each call to stderr.
	Debug bool
	// UnlockFor is how long a protected key stays unlocked in the kernel
	// keyring: unlock's default, and what a prompt or a keychain read
	// keeps it for.
	UnlockFor time.Duration
	// ConfigFile is the config file that was consulted (it may not exist).
	ConfigFile string
	// ConfigFileFound reports whether ConfigFile existed.
	ConfigFileFound bool
	// Registries holds the token-exchange settings of registries, keyed by
	// server URL as written in the config file (see registries.go).
	Registries map[string]Registry

	sources map[string]string
}

// file is the config file's schema.
type file struct {
	Backend      *string `json:"backend,omitempty"`
	StoreDir     *string `json:"storeDir,omitempty"`
	KeySource    *string `json:"keySource,omitempty"`
	IdentityFile *string `json:"identityFile,omitempty"`
	Debug        *bool   `json:"debug,omitempty"`
	UnlockFor    *string `json:"unlockFor,omitempty"`
	// Registries: see registries.go.
	Registries map[string]Registry `json:"registries,omitempty"`
}

// Setting is one line of the effective configuration, for display.
type Setting struct {
	Name   string `json:"name"`
	Env    string `json:"env"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// Settings lists every setting with its value and where it came from.
// Secrets are shown only as "(set)" or "(not set)".
func (c *Config) Settings() []Setting {
	hidden := func(v string) string {
		if v == "" {
			return "(not set)"
		}
		return "(set, hidden)"
	}
	return append([]Setting{
		{"config", EnvConfig, c.ConfigFile, c.source("config")},
		{"backend", EnvBackend, c.Backend, c.source("backend")},
		{"storeDir", EnvStoreDir, c.StoreDir, c.source("storeDir")},
		{"keySource", EnvKeySource, c.KeySource, c.source("keySource")},
		{"identity", EnvIdentity, hidden(c.Identity), c.source("identity")},
		{"identityFile", EnvIdentityFile, c.IdentityFile, c.source("identityFile")},
		{"passphrase", EnvPassphrase, hidden(c.Passphrase), c.source("passphrase")},
		{"debug", EnvDebug, fmt.Sprint(c.Debug), c.source("debug")},
		{"unlockFor", EnvUnlockFor, c.UnlockFor.String(), c.source("unlockFor")},
	}, c.registrySettings()...)
}

func (c *Config) source(name string) string {
	if s, ok := c.sources[name]; ok {
		return s
	}
	return "default"
}

// Load resolves the configuration. getenv is os.Getenv outside tests.
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{Backend: BackendAuto, KeySource: "auto", UnlockFor: DefaultUnlockFor, sources: map[string]string{}}
	appDir, appDirErr := DefaultDir(getenv)

	c.ConfigFile = getenv(EnvConfig)
	if c.ConfigFile != "" {
		c.sources["config"] = "env " + EnvConfig
	} else if appDirErr == nil {
		c.ConfigFile = filepath.Join(appDir, ConfigFileName)
	}
	if c.ConfigFile != "" {
		if err := c.readFile(c.ConfigFile); err != nil {
			return nil, err
		}
	}

	fromEnv := func(name, env string, dst *string) {
		if v := getenv(env); v != "" {
			*dst = v
			c.sources[name] = "env " + env
		}
	}
	fromEnv("backend", EnvBackend, &c.Backend)
	fromEnv("storeDir", EnvStoreDir, &c.StoreDir)
	fromEnv("keySource", EnvKeySource, &c.KeySource)
	fromEnv("identity", EnvIdentity, &c.Identity)
	fromEnv("identityFile", EnvIdentityFile, &c.IdentityFile)
	fromEnv("passphrase", EnvPassphrase, &c.Passphrase)
	if v := getenv(EnvDebug); v != "" {
		b, err := parseBool(v)
		if err != nil {
			return nil, fmt.Errorf("invalid %s: %v", EnvDebug, err)
		}
		c.Debug = b
		c.sources["debug"] = "env " + EnvDebug
	}
	if v := getenv(EnvUnlockFor); v != "" {
		d, err := parseUnlockFor(v)
		if err != nil {
			return nil, fmt.Errorf("invalid %s: %v", EnvUnlockFor, err)
		}
		c.UnlockFor = d
		c.sources["unlockFor"] = "env " + EnvUnlockFor
	}

	// docker runs the helper in whatever directory the user is in, so a
	// relative path from the environment would move the store around.
	for _, p := range []struct{ name, env, v string }{
		{"storeDir", EnvStoreDir, c.StoreDir},
		{"identityFile", EnvIdentityFile, c.IdentityFile},
	} {
		if p.v != "" && !filepath.IsAbs(p.v) && c.sources[p.name] == "env "+p.env {
			return nil, fmt.Errorf("invalid %s %q: must be an absolute path", p.env, p.v)
		}
	}
	switch c.Backend {
	case BackendAuto, BackendFile, BackendKeychain:
	default:
		return nil, fmt.Errorf("invalid backend %q from %s (want auto, file or keychain)", c.Backend, c.source("backend"))
	}
	switch c.KeySource {
	case "auto", "identity", "identity-file", "passphrase", "generated", "protected", "keychain":
	default:
		return nil, fmt.Errorf("invalid key source %q from %s (want auto, identity, identity-file, passphrase, generated, protected or keychain)", c.KeySource, c.source("keySource"))
	}
	if c.StoreDir == "" {
		if appDirErr != nil {
			return nil, fmt.Errorf("failed to find a store directory: %v; set %s", appDirErr, EnvStoreDir)
		}
		c.StoreDir = appDir
	}
	return c, nil
}

func (c *Config) readFile(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read config file %s: %v", path, err)
	}
	if !fi.Mode().IsRegular() {
		// A FIFO would block the open, and every docker pull with it.
		return fmt.Errorf("failed to read config file %s: not a regular file", path)
	}
	if err := checkTrusted(path, fi); err != nil {
		return withHint(err, fmt.Sprintf("chmod go-w the file and its directory, and make sure you own both (chown), or point %s elsewhere", EnvConfig))
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("failed to read config file %s: %v", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return fmt.Errorf("failed to read config file %s: %v", path, err)
	}
	if len(b) > maxConfigFile {
		return fmt.Errorf("failed to read config file %s: larger than %d bytes", path, maxConfigFile)
	}
	c.ConfigFileFound = true
	fc, err := ParseFile(b)
	if err != nil {
		return fmt.Errorf("failed to parse config file %s: %v", path, err)
	}
	src := "config file"
	set := func(name string, v *string, dst *string) {
		if v != nil {
			*dst = *v
			c.sources[name] = src
		}
	}
	set("backend", fc.Backend, &c.Backend)
	set("storeDir", fc.StoreDir, &c.StoreDir)
	set("keySource", fc.KeySource, &c.KeySource)
	set("identityFile", fc.IdentityFile, &c.IdentityFile)
	if fc.Debug != nil {
		c.Debug = *fc.Debug
		c.sources["debug"] = src
	}
	if fc.UnlockFor != nil {
		d, err := parseUnlockFor(*fc.UnlockFor)
		if err != nil {
			return fmt.Errorf("failed to parse config file %s: invalid unlockFor: %v", path, err)
		}
		c.UnlockFor = d
		c.sources["unlockFor"] = src
	}
	if err := checkRegistries(fc.Registries); err != nil {
		return fmt.Errorf("failed to parse config file %s: %v", path, err)
	}
	c.Registries = fc.Registries
	if c.StoreDir != "" && !filepath.IsAbs(c.StoreDir) {
		c.StoreDir = filepath.Join(filepath.Dir(path), c.StoreDir)
	}
	if c.IdentityFile != "" && !filepath.IsAbs(c.IdentityFile) {
		c.IdentityFile = filepath.Join(filepath.Dir(path), c.IdentityFile)
	}
	return nil
}

// ParseFile parses the config file's JSON. Unknown keys are errors, so a
// typo does not silently fall back to a default; secrets are refused.
func ParseFile(b []byte) (*file, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	for k := range probe {
		switch strings.ToLower(k) {
		case "identity", "passphrase":
			return nil, fmt.Errorf("%q must not be in the config file: secrets come only from the environment (%s%s)", k, EnvPrefix, strings.ToUpper(k))
		}
	}
	var fc file
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fc); err != nil {
		return nil, err
	}
	return &fc, nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use 1 or 0)", v)
}

// DefaultDir returns the helper's directory under the user's config
// directory, as os.UserConfigDir computes it but through getenv.
func DefaultDir(getenv func(string) string) (string, error) {
	base, err := userdir.ConfigDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(base, AppDirName), nil
}

// CacheDir returns the helper's directory under the user's cache
// directory (os.UserCacheDir's rules, through getenv): what it keeps there
// is never secret and may be deleted at any time.
func CacheDir(getenv func(string) string) (string, error) {
	base, err := userdir.CacheDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(base, AppDirName), nil
}

// hinted is an error with one line that tells the user what to do, which
// helper.Hint finds (this package does not import helper).
type hinted struct {
	err  error
	hint string
}

func (e *hinted) Error() string { return e.err.Error() }
func (e *hinted) Unwrap() error { return e.err }
func (e *hinted) Hint() string  { return e.hint }

func withHint(err error, hint string) error { return &hinted{err: err, hint: hint} }

// maxUnlockFor bounds unlockFor: the kernel keeps a timeout in seconds, and
// a key unlocked for longer than a month is not locked in any useful sense.
const maxUnlockFor = 31 * 24 * time.Hour

// parseUnlockFor parses a duration such as 30m or 8h, between a second and
// a month.
func parseUnlockFor(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 30m or 8h", v)
	}
	if d < time.Second || d > maxUnlockFor {
		return 0, fmt.Errorf("%v is not between 1s and %v", d, maxUnlockFor)
	}
	return d, nil
}
