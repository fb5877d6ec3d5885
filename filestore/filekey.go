package filestore

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"filippo.io/age"
)

// The file-key cache. Every write encrypts the store under a new random
// file key, which age wraps to the store's identity in the header. A read
// unwraps it: parsing the hybrid identity (ML-KEM-768 key expansion) and
// the ML-KEM + X25519 decapsulation are 0.55 ms, a fifth of a cold get.
// The file key of the store as it is now is kept in Options.FileKeys (the
// kernel user keyring, beside the unlocked identity), named by a digest of
// the identity and of the header's stanzas, so a read whose header matches
// skips both. age still checks the header's MAC with that key and every
// chunk it reads, so the file is authenticated as before; a key that does
// not open the header (planted, or from another file) is dropped and the
// file key unwrapped.
//
// What may use it: the store's own identity, read as text (generated, or
// protected or in the keychain while unlocked), never a plugin's (its PIN
// or touch must be asked for), a key from the environment or an identity
// file (they may be gone when the job ends), or a passphrase. A protected
// store's file key expires with the unlock; lock, protect and unprotect
// drop it. Whoever can read it could read the unlocked identity from the
// same keyring, or identity.txt.

// fileKeyFor is how long the file key of an unprotected store is kept. Its
// identity is on disk, so this bounds only what a stale entry costs the
// user keyring's quota (by default 200 keys and 20,000 bytes for a user
// other than root): a store not read for ten minutes pays one unwrap.
const fileKeyFor = 10 * time.Minute

// fileKeyMagic starts the cached payload: the format's name, then the
// expiry (Unix seconds), the digest and the file key, in hex, one per line.
const fileKeyMagic = "docker-credential-notation file key v1\n"

// fileKeyDigest names the file key of a header: SHA-256 of the identity's
// key lines and of the header's stanzas, each field length-prefixed.
func fileKeyDigest(text []byte, stanzas []*age.Stanza) [sha256.Size]byte {
	h := sha256.New()
	field := func(b []byte) {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
		h.Write(b)
	}
	field([]byte("docker-credential-notation file key"))
	field(keyLines(text))
	for _, st := range stanzas {
		field([]byte(st.Type))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(st.Args))))
		for _, a := range st.Args {
			field([]byte(a))
		}
		field(st.Body)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

func encodeFileKey(until time.Time, digest [sha256.Size]byte, fileKey []byte) []byte {
	b := []byte(fileKeyMagic)
	b = strconv.AppendInt(b, until.Unix(), 10)
	b = append(b, '\n')
	b = hex.AppendEncode(b, digest[:])
	b = append(b, '\n')
	b = hex.AppendEncode(b, fileKey)
	return append(b, '\n')
}

// parseFileKey parses what encodeFileKey wrote. Errors never quote the
// payload, which is secret.
func parseFileKey(b []byte) (until time.Time, digest [sha256.Size]byte, fileKey []byte, err error) {
	rest, ok := bytes.CutPrefix(b, []byte(fileKeyMagic))
	if !ok {
		return until, digest, nil, errors.New("not a file key")
	}
	lines := bytes.Split(rest, []byte("\n"))
	if len(lines) != 4 || len(lines[3]) != 0 {
		return until, digest, nil, errors.New("malformed")
	}
	secs, err := strconv.ParseInt(string(lines[0]), 10, 64)
	if err != nil || secs <= 0 || secs > 1<<40 || strconv.FormatInt(secs, 10) != string(lines[0]) {
		return until, digest, nil, errors.New("invalid expiry")
	}
	if n, err := hex.Decode(digest[:], lines[1]); err != nil || n != sha256.Size || len(lines[1]) != 2*sha256.Size {
		return until, digest, nil, errors.New("invalid digest")
	}
	// age's file keys are 16 bytes.
	if fileKey, err = hex.DecodeString(string(lines[2])); err != nil || len(fileKey) != 16 {
		return until, digest, nil, errors.New("invalid file key")
	}
	return time.Unix(secs, 0), digest, fileKey, nil
}

// fileKeysUntil says until when the file keys k unwraps may be cached,
// zero when they may not be.
func (s *Store) fileKeysUntil(k *keys) time.Time {
	if s.opts.FileKeys == nil || k.text == nil || k.probe || s.noCache {
		return time.Time{}
	}
	switch {
	case k.source == KeySourceGenerated:
		return timeNow().Add(fileKeyFor).Truncate(time.Second)
	case k.source == KeySourceProtected || k.source == KeySourceKeychain:
		return k.until // zero unless unlocked in the kernel keyring
	}
	return time.Time{}
}

// loadFileKey returns the cached file key if it is the one named by
// digest and has not expired.
func (s *Store) loadFileKey(digest [sha256.Size]byte) []byte {
	b, err := s.opts.FileKeys.Load()
	if err != nil || b == nil {
		return nil
	}
	until, d, fileKey, err := parseFileKey(b)
	if err != nil || !timeNow().Before(until) {
		s.opts.FileKeys.Drop()
		return nil
	}
	if subtle.ConstantTimeCompare(d[:], digest[:]) != 1 {
		return nil // another file's: the store has been written since
	}
	return fileKey
}

// saveFileKey caches fileKey, the key of the header named by digest, until
// until; a cache that cannot keep it (no kernel keyring here) costs
// nothing but the unwrap.
func (s *Store) saveFileKey(until time.Time, digest [sha256.Size]byte, fileKey []byte) {
	ttl := until.Sub(timeNow())
	if ttl < time.Second {
		return
	}
	s.opts.FileKeys.Save(encodeFileKey(until, digest, fileKey), ttl)
}

// dropFileKeys removes the cached file key.
func (s *Store) dropFileKeys() {
	if s.opts.FileKeys != nil {
		s.opts.FileKeys.Drop()
	}
}

// fileKeyIdentity unwraps the store's file key: from the cache when it
// holds the key of these stanzas, else with k's identities (parsed only
// then), remembering the key to cache once age has checked the header.
type fileKeyIdentity struct {
	s      *Store
	k      *keys
	digest [sha256.Size]byte
	// hit says the key came from the cache; unwrapped is the key the
	// identities unwrapped, nil when it may not be cached (a plugin's).
	hit       bool
	unwrapped []byte
}

func (i *fileKeyIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	i.digest = fileKeyDigest(i.k.text, stanzas)
	if key := i.s.loadFileKey(i.digest); key != nil {
		i.hit = true
		return key, nil
	}
	ids, _, err := i.k.load()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		key, err := id.Unwrap(stanzas)
		if errors.Is(err, age.ErrIncorrectIdentity) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, plugin := id.(*pluginIdentity); !plugin {
			i.unwrapped = bytes.Clone(key)
		}
		return key, nil
	}
	return nil, age.ErrIncorrectIdentity
}

// fileKeyRecipient wraps the file key of a write to r, remembering it and
// the stanzas, so that the store just written is cached as a read would.
type fileKeyRecipient struct {
	r       age.Recipient
	fileKey []byte
	stanzas []*age.Stanza
}

func (w *fileKeyRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	st, _, err := w.WrapWithLabels(fileKey)
	return st, err
}

// WrapWithLabels passes on r's labels (a hybrid recipient's
// "postquantum"), which age checks across recipients.
func (w *fileKeyRecipient) WrapWithLabels(fileKey []byte) ([]*age.Stanza, []string, error) {
	var st []*age.Stanza
	var labels []string
	var err error
	if rl, ok := w.r.(age.RecipientWithLabels); ok {
		st, labels, err = rl.WrapWithLabels(fileKey)
	} else {
		st, err = w.r.Wrap(fileKey)
	}
	if err == nil {
		w.fileKey, w.stanzas = bytes.Clone(fileKey), st
	}
	return st, labels, err
}
