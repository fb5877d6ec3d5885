package filestore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// Fixed test keys, so that inputs the fuzzer saves under testdata/fuzz stay
// meaningful. They protect nothing.
const (
	fuzzX25519 = "AGE-SECRET-KEY-1EGV3249NKS98QLMP5KFCVH3Z0X2N06CAFUHZDAL3G455MQT6JKCQ3ZVZCF"
	fuzzHybrid = "AGE-SECRET-KEY-PQ-1G52PZTCQA0HAEZK44J96WLF4RZJ348WT748TY6GP66LJSZ2WF4WSFJRPAV"
)

func fuzzIdentities(t testing.TB) (*age.X25519Identity, *age.HybridIdentity) {
	t.Helper()
	x, err := age.ParseX25519Identity(fuzzX25519)
	if err != nil {
		t.Fatal(err)
	}
	h, err := age.ParseHybridIdentity(fuzzHybrid)
	if err != nil {
		t.Fatal(err)
	}
	return x, h
}

// fuzzPlaintexts are documents the store must handle, well-formed or not.
var fuzzPlaintexts = []string{
	`{"version":1,"entries":{}}`,
	"{\"version\":1,\"entries\":{\n\"registry.example.com\":{\"serverURL\":\"registry.example.com\",\"username\":\"alice\",\"secret\":\"hunter2\"}\n}}\n",
	"{\n  \"version\": 1,\n  \"entries\": {\n    \"docker.io\": {\"serverURL\": \"https://index.docker.io/v1/\", \"username\": \"<token>\", \"secret\": \"r\"}\n  }\n}\n",
	`{"version":2,"entries":{}}`,
	`{"entries":{}}`,
	`null`,
	`[]`,
	`not json`,
	``,
	"{\"version\":1,\"entries\":{\n\"a\":{\"serverURL\":\"a\"\n}}\n",
	`{"version":1,"entries":{"a":{"serverURL":1}}}`,
	`{"version":1,"entries":{"a":null}}`,
	`{"version":1,"entries":null}`,
}

// FuzzDecrypt feeds arbitrary bytes to the store as store.age: the store
// never panics, succeeds only on what age itself decrypts, and never writes
// over a file it could not read.
func FuzzDecrypt(f *testing.F) {
	x, h := fuzzIdentities(f)
	for _, p := range fuzzPlaintexts {
		for _, r := range []age.Recipient{x.Recipient(), h.Recipient()} {
			valid := encryptTo(f, r, []byte(p))
			f.Add(valid)
			f.Add(valid[:len(valid)/2])
			f.Add(valid[:bytes.Index(valid, []byte("\n---"))+1])
		}
	}
	other := encryptTo(f, newX25519(f).Recipient(), []byte(fuzzPlaintexts[1]))
	f.Add(other)
	f.Add(scryptStore(f, "pass", v1Doc(f, "registry.example.com")))
	f.Add([]byte{})
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n--- AAAA\n"))
	f.Add([]byte("age-encryption.org/v1\n-> scrypt c2FsdHNhbHRzYWx0c2FsdA 10\nAAAA\n--- AAAA\n"))
	f.Add([]byte("-----BEGIN AGE ENCRYPTED FILE-----\n-----END AGE ENCRYPTED FILE-----\n"))
	f.Add([]byte(fuzzPlaintexts[1]))

	dir := f.TempDir()
	path := filepath.Join(dir, StoreFileName)
	ctx := context.Background()
	k := mustKey(f, "registry.example.com")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s := newStore(t, Options{Dir: dir, Identity: fuzzHybrid + "\n" + fuzzX25519})

		// What age itself makes of the file.
		var plain []byte
		r, decErr := age.Decrypt(bytes.NewReader(data), x, h)
		if decErr == nil {
			plain, decErr = io.ReadAll(r)
		}
		var doc document
		docErr := decErr
		if docErr == nil {
			docErr = json.Unmarshal(plain, &doc)
		}
		if docErr == nil && doc.Version != SchemaVersion {
			docErr = errors.New("other version")
		}

		m, listErr := s.List(ctx)
		_, getErr := s.Get(ctx, k)
		if decErr != nil {
			for name, err := range map[string]error{"List": listErr, "Get": getErr} {
				if err == nil || errors.Is(err, helper.ErrNotFound) {
					t.Fatalf("%s on a file age cannot decrypt (%v) returned %v", name, decErr, err)
				}
			}
		}
		if !bytes.HasPrefix(data, []byte("age-encryption.org/v1\n")) && listErr == nil {
			t.Fatalf("List accepted a file that is not an age file")
		}
		if docErr == nil && listErr != nil {
			t.Fatalf("List failed on a valid store: %v", listErr)
		}
		if docErr == nil && len(doc.Entries) == len(m) {
			want := map[string]string{}
			for _, e := range doc.Entries {
				want[e.ServerURL] = e.Username
			}
			if !maps.Equal(m, want) {
				t.Fatalf("List = %v, age and encoding/json give %v", m, want)
			}
		}

		// A write succeeds exactly when the current file is a valid store,
		// and otherwise leaves the file alone.
		putErr := s.Put(ctx, k, helper.Credentials{ServerURL: "registry.example.com", Username: "fuzz", Secret: "fuzz"})
		if (putErr == nil) != (docErr == nil) {
			t.Fatalf("Put = %v on a file whose decryption and parsing gives %v", putErr, docErr)
		}
		if putErr != nil {
			if errors.Is(putErr, helper.ErrNotFound) {
				t.Fatalf("Put failure wraps ErrNotFound: %v", putErr)
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Put changed a store it could not read (read: %v)", err)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if n := e.Name(); n != StoreFileName && n != lockFileName {
				t.Fatalf("the store left %s behind", n)
			}
		}
	})
}

// FuzzPlaintext feeds arbitrary documents, encrypted with the right key, to
// the store: a plaintext that is not a version 1 store is never written
// over, and Get and List agree with a full parse of every document in the
// layout the store writes and of every document in any other layout.
//
// List reads every line and checks each (or parses in full), so it agrees
// with a full parse on every document, failing exactly when the full parse
// does. Get reads only the lines its index or a binary search visits: a
// document that keeps the store's own header (or index), its length and its
// last line but is not byte for byte what the store writes (a hand edit)
// can mislead it (lines out of order, a broken line it does not visit), so
// for Get on those only the absence of panics is checked.
func FuzzPlaintext(f *testing.F) {
	for _, p := range fuzzPlaintexts {
		f.Add([]byte(p))
	}
	// Indexed: one chunk, and several.
	for _, n := range []int{2, 120} {
		if p, err := encodeDocument(bigDoc(n)); err == nil {
			f.Add(p)
		}
	}
	x, _ := fuzzIdentities(f)
	dir := f.TempDir()
	path := filepath.Join(dir, StoreFileName)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, plain []byte) {
		data := encryptTo(t, x.Recipient(), plain)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s := newStore(t, Options{Dir: dir, Identity: fuzzX25519})

		var doc document
		docErr := json.Unmarshal(plain, &doc)
		if docErr == nil && doc.Version != SchemaVersion {
			docErr = errors.New("other version")
		}
		m, listErr := s.List(ctx)
		type got struct {
			c   helper.Credentials
			err error
		}
		gets := map[string]got{}
		for key := range doc.Entries {
			if hk, err := helper.ParseServerURL(key); err == nil && hk.String() == key {
				c, err := s.Get(ctx, hk)
				gets[key] = got{c, err}
			}
		}
		if (listErr == nil) != (docErr == nil) {
			t.Fatalf("List = %v on a document whose full parse gives %v", listErr, docErr)
		}
		if docErr == nil {
			want := map[string]string{}
			unique := true
			for _, e := range doc.Entries {
				if _, dup := want[e.ServerURL]; dup {
					unique = false
				}
				want[e.ServerURL] = e.Username
			}
			if unique && !maps.Equal(m, want) {
				t.Fatalf("List = %v, a full parse gives %v", m, want)
			}
		}

		trusted := !isCanonical(plain)
		if !trusted && docErr == nil {
			enc, err := encodeDocument(&doc)
			trusted = err == nil && bytes.Equal(enc, plain)
		}
		if docErr == nil && trusted {
			for key, g := range gets {
				e := doc.Entries[key]
				if g.err != nil || g.c != (helper.Credentials{ServerURL: e.ServerURL, Username: e.Username, Secret: e.Secret}) {
					t.Fatalf("Get(%q) on a valid document = %v; a full parse gives %+v", key, g.err, e)
				}
			}
		}

		putErr := s.Put(ctx, mustKey(t, "fuzz.example.com"), helper.Credentials{ServerURL: "fuzz.example.com", Username: "fuzz"})
		if (putErr == nil) != (docErr == nil) {
			t.Fatalf("Put = %v on a document whose full parse gives %v", putErr, docErr)
		}
		if putErr != nil {
			if errors.Is(putErr, helper.ErrNotFound) {
				t.Fatalf("Put failure wraps ErrNotFound: %v", putErr)
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Put changed a store it could not parse (read: %v)", err)
			}
		}
	})
}

// FuzzUnlocked: the payload read back from the kernel keyring (which any
// process of the user can set) parses or fails, never panics, and what
// parses encodes back to the same bytes.
func FuzzUnlocked(f *testing.F) {
	f.Add(encodeUnlocked([]byte("AGE-SECRET-KEY-1X\n"), time.Unix(1_800_000_000, 0)))
	f.Add([]byte(unlockedMagic + "until 1\n#"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		text, until, err := parseUnlocked(b)
		if err != nil {
			return
		}
		if got := encodeUnlocked(text, until); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded %q as %q", b, got)
		}
		parseIdentities(bytes.NewReader(text), nil)
	})
}

// FuzzFileKey: the cached file key read back from the kernel keyring
// (which any process of the user can set) parses or fails, never panics,
// and what parses encodes back to the same bytes.
func FuzzFileKey(f *testing.F) {
	f.Add(encodeFileKey(time.Unix(1_800_000_000, 0), [32]byte{1}, make([]byte, 16)))
	f.Add([]byte(fileKeyMagic + "1\n00\n00\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		until, digest, key, err := parseFileKey(b)
		if err != nil {
			return
		}
		if got := encodeFileKey(until, digest, key); !bytes.Equal(got, b) {
			t.Fatalf("re-encoded %q as %q", b, got)
		}
	})
}
