package registryauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
)

// ChallengeFileName is the challenge memory's file, in the helper's cache
// directory.
const ChallengeFileName = "registries.json"

// maxChallengeFile bounds the file read: maxRemembered entries of a few
// hundred bytes each.
const maxChallengeFile = 256 << 10

// maxRemembered bounds the registries remembered; the ones learned longest
// ago go first.
const maxRemembered = 256

// Bounds of one remembered challenge's fields: no real realm or service is
// near them.
const (
	maxHostLen    = 300
	maxRealmLen   = 2048
	maxServiceLen = 512
)

// ChallengeFile is a ChallengeMemory in a JSON file (see
// [ParseChallengeFile]), mode 0600, replaced atomically. It holds nothing
// secret. A file that cannot be read or parsed, or one that someone else
// may have written (on Unix: not the user's, or it or its directory
// writable by group or others), reads as empty and is replaced by the next
// write. Two processes
// writing at once each replace the file whole: one's entry may be lost,
// which costs a ping next time, never a wrong answer.
type ChallengeFile struct {
	// Path is the file. Required.
	Path string
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

var _ ChallengeMemory = (*ChallengeFile)(nil)

// challengeFile is the file's schema.
type challengeFile struct {
	V          int                   `json:"v"`
	Registries map[string]Remembered `json:"registries"`
}

// ParseChallengeFile decodes the challenge memory file. A file of another
// version, or that is not JSON, is an error; an entry it cannot use (an
// unknown scheme, a Bearer challenge without a realm, an overlong or
// unprintable field) is left out.
func ParseChallengeFile(b []byte) (map[string]Remembered, error) {
	if len(b) > maxChallengeFile {
		return nil, errors.New("challenge memory: file too large")
	}
	var f challengeFile
	if err := decodeStrict(b, &f); err != nil {
		return nil, err
	}
	if f.V != 1 {
		return nil, errors.New("challenge memory: unknown version")
	}
	m := make(map[string]Remembered, len(f.Registries))
	for host, r := range f.Registries {
		if validRemembered(host, r) && len(m) < maxRemembered {
			m[host] = r
		}
	}
	return m, nil
}

func validRemembered(host string, r Remembered) bool {
	switch {
	case host == "" || len(host) > maxHostLen || strings.ContainsAny(host, "/@?#") || !isVisibleASCII(host):
		return false
	case r.URL != "https" && r.URL != "http":
		return false
	case len(r.Realm) > maxRealmLen || len(r.Service) > maxServiceLen:
		return false
	case r.Realm != "" && !isVisibleASCII(r.Realm), r.Service != "" && !isPrintable(r.Service):
		return false
	}
	switch r.Scheme {
	case SchemeBasic:
		return r.Service == "" && (r.Realm == "" || isPrintable(r.Realm))
	case SchemeBearer:
		// An absolute http(s) URL without user information: anything else
		// the flow refuses, and user information is never written down.
		u, err := url.Parse(r.Realm)
		return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
	}
	return false
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// load reads the file; anything wrong with it reads as empty.
func (f *ChallengeFile) load() map[string]Remembered {
	fi, err := os.Lstat(f.Path)
	if err != nil || !trustedFile(f.Path, fi) {
		// Missing, a link or something else, or writable by others: a
		// realm from it could steer the credential.
		return map[string]Remembered{}
	}
	file, err := os.Open(f.Path)
	if err != nil {
		return map[string]Remembered{}
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, maxChallengeFile+1))
	if err != nil {
		return map[string]Remembered{}
	}
	m, err := ParseChallengeFile(b)
	if err != nil {
		return map[string]Remembered{}
	}
	return m
}

func (f *ChallengeFile) save(m map[string]Remembered) error {
	if len(m) > maxRemembered {
		hosts := make([]string, 0, len(m))
		for h := range m {
			hosts = append(hosts, h)
		}
		slices.SortFunc(hosts, func(a, b string) int { return m[b].Learned.Compare(m[a].Learned) })
		for _, h := range hosts[maxRemembered:] {
			delete(m, h)
		}
	}
	b, err := marshalJSON(challengeFile{V: 1, Registries: m})
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(f.Path, b, atomicfile.Options{Perm: 0o600})
}

// Recall implements ChallengeMemory.
func (f *ChallengeFile) Recall(host string) (Remembered, bool) {
	r, ok := f.load()[host]
	return r, ok
}

// Remember implements ChallengeMemory; it writes nothing when r is what is
// remembered already.
func (f *ChallengeFile) Remember(host string, r Remembered) error {
	if !validRemembered(host, r) {
		return errors.New("challenge memory: the challenge cannot be remembered")
	}
	m := f.load()
	if old, ok := m[host]; ok && old.same(r) {
		return nil
	}
	if r.Learned.IsZero() {
		now := time.Now
		if f.Now != nil {
			now = f.Now
		}
		r.Learned = now().UTC().Round(0)
	}
	m[host] = r
	return f.save(m)
}

// Forget implements ChallengeMemory.
func (f *ChallengeFile) Forget(host string) error {
	m := f.load()
	if _, ok := m[host]; !ok {
		return nil
	}
	delete(m, host)
	return f.save(m)
}

// decodeStrict decodes one JSON value with no unknown fields and nothing
// after it.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// marshalJSON encodes v without HTML escaping (realms hold '&').
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
