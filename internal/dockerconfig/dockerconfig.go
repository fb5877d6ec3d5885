// Package dockerconfig reads and edits the config.json files of docker and
// notation, helm's registry config and containers' auth.json (the same
// format): the keys that select a credential helper (credsStore,
// credHelpers) and the plaintext credentials under auths.
//
// An edit changes only the keys it names. Every other field, known or not,
// is kept with its value byte for byte and the top-level and nested key order
// as found; the file is rewritten indented with tabs, as docker writes it, so
// a file docker wrote round-trips unchanged. Writes go to a temporary file in
// the same directory that is synced and renamed into place, with the old
// file's mode (0600 for a new file, in a 0700 directory). A symlink or a file
// that is not a JSON object is refused rather than replaced.
//
// The usual entry point is [Load] with the path from [DockerPath] or
// [NotationPath].
//
// Reference: https://docs.docker.com/reference/cli/docker/#configuration-files
// and https://notaryproject.dev/docs/user-guides/how-to/registry-authentication/
package dockerconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
	"github.com/notaryproject/docker-credential-notation/internal/userdir"
)

// The keys this package edits.
const (
	KeyCredsStore  = "credsStore"
	KeyCredHelpers = "credHelpers"
	KeyAuths       = "auths"
	// KeyMisspelled is the misspelling of credsStore found in some published
	// docs; no client reads it.
	KeyMisspelled = "credStore"
)

// maxFile bounds a config.json read: real ones are a few kilobytes, and an
// attacker-sized file must not exhaust memory.
const maxFile = 16 << 20

// ErrSymlink is returned for a config file that is a symbolic link: replacing
// it atomically would turn it into a regular file and cut the link.
var ErrSymlink = atomicfile.ErrSymlink

// ErrReadOnly is returned for a config file whose owner cannot write it.
var ErrReadOnly = errors.New("the file is read-only")

// DockerPath returns docker's config.json as the docker CLI resolves it:
// $DOCKER_CONFIG/config.json, else ~/.docker/config.json. getenv is
// os.Getenv outside tests.
func DockerPath(getenv func(string) string) (string, error) {
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json"), nil
	}
	home := userdir.HomeDir(getenv)
	if home == "" {
		return "", errors.New("neither $DOCKER_CONFIG nor $HOME is set")
	}
	return filepath.Join(home, ".docker", "config.json"), nil
}

// NotationPath returns notation's config.json as notation resolves it:
// notation/config.json under the user's config directory (os.UserConfigDir:
// $XDG_CONFIG_HOME or ~/.config on Linux).
func NotationPath(getenv func(string) string) (string, error) {
	base, err := userdir.ConfigDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "notation", "config.json"), nil
}

// HelmPath returns helm's registry config (docker's format, read by
// oras-go: credsStore and credHelpers work) as helm 4 resolves it:
// $HELM_REGISTRY_CONFIG; else registry/config.json under $HELM_CONFIG_HOME;
// else helm/registry/config.json under $XDG_CONFIG_HOME (on every OS) or
// the platform's default: ~/.config, ~/Library/Preferences on macOS,
// %APPDATA% on Windows.
func HelmPath(getenv func(string) string) (string, error) {
	if f := getenv("HELM_REGISTRY_CONFIG"); f != "" {
		return f, nil
	}
	if d := getenv("HELM_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "registry", "config.json"), nil
	}
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		switch runtime.GOOS {
		case "windows":
			base = getenv("APPDATA")
		case "darwin":
			if h := userdir.HomeDir(getenv); h != "" {
				base = filepath.Join(h, "Library", "Preferences")
			}
		default:
			if h := userdir.HomeDir(getenv); h != "" {
				base = filepath.Join(h, ".config")
			}
		}
	}
	if base == "" {
		return "", errors.New("none of $HELM_REGISTRY_CONFIG, $HELM_CONFIG_HOME, $XDG_CONFIG_HOME and $HOME is set")
	}
	return filepath.Join(base, "helm", "registry", "config.json"), nil
}

// ContainersPaths returns the auth.json files of containers/image (podman,
// buildah, skopeo) that a credHelpers entry must be in, as podman and
// containers-auth.json(5) resolve them: $REGISTRY_AUTH_FILE alone when it
// is set; else $DOCKER_CONFIG/config.json alone when $DOCKER_CONFIG is set
// (podman and buildah then log in through docker's file); otherwise on
// Linux the primary file, which logins write and which
// is read first ($XDG_RUNTIME_DIR/containers/auth.json, or
// /run/containers/<uid>/auth.json without $XDG_RUNTIME_DIR), and then the
// persistent $XDG_CONFIG_HOME/containers/auth.json (~/.config/…), which is
// read next and outlives a reboot that empties the runtime directory; on
// macOS and Windows the one file ~/.config/containers/auth.json. uid is
// os.Getuid() outside tests.
//
// Reference: containers-auth.json(5).
func ContainersPaths(getenv func(string) string, uid int) ([]string, error) {
	if f := getenv("REGISTRY_AUTH_FILE"); f != "" {
		return []string{f}, nil
	}
	if d := getenv("DOCKER_CONFIG"); d != "" {
		return []string{filepath.Join(d, "config.json")}, nil
	}
	home := userdir.HomeDir(getenv)
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		if home == "" {
			return nil, errors.New("$HOME is not set")
		}
		return []string{filepath.Join(home, ".config", "containers", "auth.json")}, nil
	}
	primary := fmt.Sprintf("/run/containers/%d/auth.json", uid)
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		primary = filepath.Join(d, "containers", "auth.json")
	}
	base, err := userdir.ConfigDir(getenv)
	if err != nil {
		return nil, err
	}
	return []string{primary, filepath.Join(base, "containers", "auth.json")}, nil
}

// Object is a JSON object that remembers its key order and keeps each value
// as raw JSON.
type Object struct {
	keys []string
	vals map[string]json.RawMessage
}

// NewObject returns an empty object.
func NewObject() *Object { return &Object{vals: map[string]json.RawMessage{}} }

// ParseObject parses b, which must hold one JSON object.
func ParseObject(b []byte) (*Object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	o := &Object{vals: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("unexpected %v", tok)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		// A repeated key keeps its first position and its last value, as
		// encoding/json (and so docker) reads it.
		if _, dup := o.vals[k]; !dup {
			o.keys = append(o.keys, k)
		}
		o.vals[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the top-level object")
	}
	return o, nil
}

// Keys returns the keys in order.
func (o *Object) Keys() []string { return append([]string(nil), o.keys...) }

// Raw returns the raw value of k.
func (o *Object) Raw(k string) (json.RawMessage, bool) {
	v, ok := o.vals[k]
	return v, ok
}

// String returns the value of k when it is a JSON string.
func (o *Object) String(k string) (string, bool) {
	v, ok := o.vals[k]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// SetRaw sets k to v, keeping k's place or appending it.
func (o *Object) SetRaw(k string, v json.RawMessage) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// Set sets k to the JSON encoding of v.
func (o *Object) Set(k string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings and maps of strings always encode
	}
	o.SetRaw(k, b)
}

// Delete removes k.
func (o *Object) Delete(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	for i, kk := range o.keys {
		if kk == k {
			o.keys = append(o.keys[:i], o.keys[i+1:]...)
			break
		}
	}
}

// Object returns the value of k as an Object; ok is false when k is absent
// or null, and err is set when it is not an object.
func (o *Object) Object(k string) (sub *Object, ok bool, err error) {
	v, found := o.vals[k]
	if !found || string(bytes.TrimSpace(v)) == "null" {
		return nil, false, nil
	}
	sub, err = ParseObject(v)
	if err != nil {
		return nil, false, fmt.Errorf("%q: %v", k, err)
	}
	return sub, true, nil
}

// MarshalJSON writes the object compactly with its keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(o.vals[k])
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// File is one config.json, loaded for editing.
type File struct {
	// Path is the file's path.
	Path string
	// Exists reports whether the file existed when loaded; a missing file
	// loads as an empty object.
	Exists bool

	mode fs.FileMode
	orig []byte
	root *Object
}

// Load reads the config file at path. A missing file is an empty one; a
// symlink, a directory, an oversized file or one that is not a JSON object is
// an error that names the file.
func Load(path string) (*File, error) {
	f := &File{Path: path, mode: 0o600, root: &Object{vals: map[string]json.RawMessage{}}}
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("failed to read %s: %v", path, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("failed to read %s: %w", path, ErrSymlink)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("failed to read %s: not a regular file", path)
	}
	r, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %v", path, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read %s: %v", path, err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("failed to read %s: larger than %d bytes", path, maxFile)
	}
	f.Exists, f.mode, f.orig = true, fi.Mode().Perm(), b
	if len(bytes.TrimSpace(b)) == 0 {
		// docker treats an empty file as an empty configuration.
		return f, nil
	}
	root, err := ParseObject(b)
	if err != nil {
		return nil, fmt.Errorf("failed to parse %s: not valid JSON: %v", path, err)
	}
	f.root = root
	return f, nil
}

// Root returns the top-level object, for edits this package has no method
// for.
func (f *File) Root() *Object { return f.root }

// Original returns the bytes as read (nil for a missing file).
func (f *File) Original() []byte { return f.orig }

// Mode returns the permission bits the file is written with.
func (f *File) Mode() fs.FileMode { return f.mode }

// CredsStore returns the value of credsStore ("" when unset).
func (f *File) CredsStore() string {
	s, _ := f.root.String(KeyCredsStore)
	return s
}

// Misspelled returns the value of the misspelled key credStore and whether
// it is present.
func (f *File) Misspelled() (string, bool) {
	if _, ok := f.root.Raw(KeyMisspelled); !ok {
		return "", false
	}
	s, _ := f.root.String(KeyMisspelled)
	return s, true
}

// CredHelpers returns the credHelpers entries, host to helper name, with
// the hosts in file order.
func (f *File) CredHelpers() (hosts []string, helpers map[string]string, err error) {
	o, ok, err := f.root.Object(KeyCredHelpers)
	if err != nil || !ok {
		return nil, map[string]string{}, err
	}
	helpers = map[string]string{}
	for _, h := range o.keys {
		s, isString := o.String(h)
		if !isString {
			return nil, nil, fmt.Errorf("%q: the entry for %q is not a string", KeyCredHelpers, h)
		}
		hosts = append(hosts, h)
		helpers[h] = s
	}
	return hosts, helpers, nil
}

// SetCredHelper sets credHelpers[host] to name, or removes the entry when
// name is "" (and credHelpers itself when it becomes empty).
func (f *File) SetCredHelper(host, name string) error {
	o, ok, err := f.root.Object(KeyCredHelpers)
	if err != nil {
		return err
	}
	if !ok {
		if name == "" {
			return nil
		}
		o = &Object{vals: map[string]json.RawMessage{}}
	}
	if name == "" {
		o.Delete(host)
	} else {
		o.Set(host, name)
	}
	if len(o.keys) == 0 {
		f.root.Delete(KeyCredHelpers)
		return nil
	}
	b, _ := o.MarshalJSON()
	f.root.SetRaw(KeyCredHelpers, b)
	return nil
}

// Auth is one entry of auths, decoded. Its String hides the secrets.
type Auth struct {
	// Host is the entry's key, as the client wrote it.
	Host string
	// Username and Password come from "auth" (base64 of user:password), or
	// from "username"/"password" when "auth" is absent.
	Username, Password string
	// IdentityToken is an OAuth2 refresh token (stored with username
	// "<token>").
	IdentityToken string
	// RegistryToken is a bearer token; no credential helper can carry it.
	RegistryToken string
}

// String names the entry without its secrets.
func (a Auth) String() string { return fmt.Sprintf("{Host:%q Username:%q}", a.Host, a.Username) }

// Auths returns the plaintext entries of auths in file order.
func (f *File) Auths() ([]Auth, error) {
	o, ok, err := f.root.Object(KeyAuths)
	if err != nil || !ok {
		return nil, err
	}
	var out []Auth
	for _, h := range o.keys {
		e, ok, err := o.Object(h)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", KeyAuths, err)
		}
		a := Auth{Host: h}
		if !ok {
			out = append(out, a)
			continue
		}
		if enc, _ := e.String("auth"); enc != "" {
			dec, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				return nil, fmt.Errorf("%q: the entry for %q: \"auth\" is not base64", KeyAuths, h)
			}
			user, pass, found := strings.Cut(string(dec), ":")
			if !found {
				return nil, fmt.Errorf("%q: the entry for %q: \"auth\" does not hold user:password", KeyAuths, h)
			}
			a.Username, a.Password = user, pass
		} else {
			a.Username, _ = e.String("username")
			a.Password, _ = e.String("password")
		}
		a.IdentityToken, _ = e.String("identitytoken")
		a.RegistryToken, _ = e.String("registrytoken")
		out = append(out, a)
	}
	return out, nil
}

// secretFields are the fields of an auths entry that hold secrets.
var secretFields = []string{"auth", "username", "password", "identitytoken"}

// BlankAuth removes the secrets of the auths entry for host ("auth",
// "username", "password", "identitytoken") and keeps the entry itself and
// its other fields, as docker leaves an entry once a helper holds the
// credential. A "registrytoken" is kept: nothing imports it.
func (f *File) BlankAuth(host string) error {
	o, ok, err := f.root.Object(KeyAuths)
	if err != nil || !ok {
		return err
	}
	e, ok, err := o.Object(host)
	if err != nil || !ok {
		return err
	}
	for _, k := range secretFields {
		e.Delete(k)
	}
	b, _ := e.MarshalJSON()
	o.SetRaw(host, b)
	b, _ = o.MarshalJSON()
	f.root.SetRaw(KeyAuths, b)
	return nil
}

// Bytes returns the file's content after the edits: the original bytes when
// nothing changed, else the object indented with tabs as docker writes it, with a final newline only if
// the original had one.
func (f *File) Bytes() []byte {
	b, _ := f.root.MarshalJSON()
	if f.Exists {
		o := NewObject()
		if len(bytes.TrimSpace(f.orig)) > 0 {
			o, _ = ParseObject(f.orig) // it parsed in Load
		}
		if ob, _ := o.MarshalJSON(); bytes.Equal(ob, b) {
			return f.orig
		}
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "\t"); err != nil {
		panic(err) // b is built from values that parsed
	}
	if bytes.HasSuffix(f.orig, []byte("\n")) {
		// Keep the final newline of a file written by hand or by a tool
		// other than docker.
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// Changed reports whether the edits changed the content.
func (f *File) Changed() bool {
	return !f.Exists || !bytes.Equal(f.Bytes(), f.orig)
}

// Save writes the file atomically with its mode kept (0600 for a new file,
// whose directory is created 0700). It refuses to replace a file that became
// a symlink since Load.
func (f *File) Save() error {
	if f.Exists && f.mode&0o200 == 0 && runtime.GOOS != "windows" {
		// A read-only file says its owner wants it left alone; the rename
		// would replace it all the same.
		return fmt.Errorf("failed to write %s: %w", f.Path, ErrReadOnly)
	}
	return WriteFile(f.Path, f.Bytes(), f.mode)
}

// WriteFile writes data to path atomically (internal/atomicfile), with mode
// perm. A symlink at path is refused; the directory is created 0700 if
// missing.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	if err := atomicfile.WriteFile(path, data, atomicfile.Options{Perm: perm}); err != nil {
		if errors.Is(err, atomicfile.ErrSymlink) {
			return fmt.Errorf("failed to write %s: %w", path, ErrSymlink)
		}
		return fmt.Errorf("failed to write %s: %v", path, err)
	}
	return nil
}
