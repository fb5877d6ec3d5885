package reliability

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// marker is the secret the hostile inputs carry; it must never be echoed.
const marker = "HOSTILE-MARKER-SECRET"

type hostileCase struct {
	name, action string
	stdin        []byte
	want         string
}

// hostileCases reads testdata/hostile/cases.txt and adds the inputs too big
// to keep in the repository.
func hostileCases(t *testing.T) []hostileCase {
	t.Helper()
	dir := filepath.Join("testdata", "hostile")
	f, err := os.Open(filepath.Join(dir, "cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []hostileCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.SplitN(line, "\t", 3)
		if len(fields) != 3 {
			t.Fatalf("cases.txt: malformed line %q", line)
		}
		cases = append(cases, hostileCase{fields[0], fields[1], readFile(t, filepath.Join(dir, fields[0]+".in")), fields[2]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	const limit = 1 << 20 // the helper's bound on stdin
	pad := func(n int) []byte {
		// A valid store payload of exactly n bytes.
		head := `{"ServerURL":"registry.example.com","Username":"u","Secret":"` + marker
		return []byte(head + strings.Repeat("x", n-len(head)-2) + `"}`)
	}
	longHost := strings.Repeat("a", 63) + "."
	cases = append(cases,
		hostileCase{"big-store-limit+1", "store", pad(limit + 1), "invalid input: stdin is larger than 1048576 bytes"},
		hostileCase{"big-store-2MiB", "store", pad(2 << 20), "invalid input: stdin is larger than 1048576 bytes"},
		hostileCase{"big-get-limit+1", "get", bytes.Repeat([]byte("a"), limit+1), "invalid input: stdin is larger than 1048576 bytes"},
		hostileCase{"big-erase-limit+1", "erase", bytes.Repeat([]byte("a"), limit+1), "invalid input: stdin is larger than 1048576 bytes"},
		hostileCase{"big-get-limit", "get", bytes.Repeat([]byte("a"), limit), "invalid server URL: longer than 2048 bytes"},
		hostileCase{"long-url-get", "get", []byte(strings.Repeat(longHost, 40) + "example.com"), "invalid server URL: longer than 2048 bytes"},
		hostileCase{"long-url-store", "store", []byte(credJSON("https://"+strings.Repeat(longHost, 40)+"example.com", "u", marker)), "invalid server URL: longer than 2048 bytes"},
		hostileCase{"long-path-store", "store", []byte(credJSON("registry.example.com/"+strings.Repeat("p/", 1100), "u", marker)), "invalid server URL: longer than 2048 bytes"},
	)
	return cases
}

// TestHostileInput runs every case against a store holding one entry: exit
// exactly 1, the expected message on stdout, not-found only for a valid URL
// that is missing, the marker secret never echoed, the store byte-identical.
func TestHostileInput(t *testing.T) {
	s := newSandbox(t)
	s.mustStore(t, "registry.example.com", "alice", "secret-alice")
	before := readFile(t, s.StoreFile())
	cases := hostileCases(t)
	if len(cases) < 50 {
		t.Errorf("only %d hostile inputs, want at least 50", len(cases))
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := s.runEnv(t, tc.stdin, nil, tc.action)
				if r.Code != 1 {
					t.Errorf("%s: %v; want exit 1", tc.action, r)
				}
				if !strings.Contains(r.Stdout, tc.want) {
					t.Errorf("%s: stdout %q, want it to contain %q", tc.action, r.Stdout, tc.want)
				}
				if tc.want != notFound && strings.Contains(r.Stdout, notFound) {
					t.Errorf("%s: a malformed input answered not-found: %q", tc.action, r.Stdout)
				}
				if strings.Contains(r.Stdout+r.Stderr, marker) {
					t.Errorf("%s echoed the secret: %v", tc.action, r)
				}
			})
		}
	})
	if !bytes.Equal(readFile(t, s.StoreFile()), before) {
		t.Error("the store changed")
	}
	if c, found := s.get(t, "registry.example.com"); !found || c.Secret != "secret-alice" {
		t.Errorf("get after the hostile inputs = %+v, %v", c, found)
	}
	t.Logf("%d hostile inputs tried", len(cases))
}

// TestSwappedAndForeignStore puts another store's file in place: one
// encrypted to another key (foreign) is refused by every command and never
// overwritten. One encrypted to the same key (swapped, e.g. restored from an
// older backup) decrypts: age binds no file to its place or its version, so
// the helper cannot tell; SECURITY.md says so. The test pins that the
// swapped store is then read as it is, consistently, and only rewritten by a
// write the user asked for.
func TestSwappedAndForeignStore(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	withKey := "DOCKER_CREDENTIAL_NOTATION_IDENTITY=" + id.String()
	a := newSandbox(t, withKey)
	a.mustStore(t, "registry.example.com", "alice", "secret-alice")
	b := newSandbox(t, withKey)
	b.mustStore(t, "registry.example.com", "mallory", "secret-mallory")
	b.mustStore(t, "evil.example.com", "mallory", "secret-mallory")
	foreign := newSandbox(t) // generated key of its own
	foreign.mustStore(t, "registry.example.com", "eve", "secret-eve")

	t.Run("foreign", func(t *testing.T) {
		s := newSandbox(t, withKey)
		if err := os.MkdirAll(s.StoreDir, 0o700); err != nil {
			t.Fatal(err)
		}
		data := readFile(t, foreign.StoreFile())
		if err := os.WriteFile(s.StoreFile(), data, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct{ action, stdin string }{
			{"get", "registry.example.com"},
			{"list", ""},
			{"erase", "registry.example.com"},
			{"store", credJSON("registry.example.com", "alice", "secret-alice")},
		} {
			r := s.run(t, tt.stdin, tt.action)
			if r.Code != 1 || !strings.HasPrefix(r.Stdout, "failed to decrypt credential store "+s.StoreFile()+": wrong key") ||
				!strings.Contains(r.Stderr, "hint: the store was not modified") {
				t.Errorf("%s on a foreign store: %v", tt.action, r)
			}
		}
		if !bytes.Equal(readFile(t, s.StoreFile()), data) {
			t.Error("the foreign store was overwritten")
		}
	})

	t.Run("swapped", func(t *testing.T) {
		data := readFile(t, b.StoreFile())
		if err := os.WriteFile(a.StoreFile(), data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, r := a.list(t)
		if m == nil || m["registry.example.com"] != "mallory" || m["evil.example.com"] != "mallory" {
			t.Errorf("list of the swapped store = %v (%v); want its own entries", m, r)
		}
		if c, found := a.get(t, "registry.example.com"); !found || c.Username != "mallory" {
			t.Errorf("get from the swapped store = %+v, %v", c, found)
		}
		if !bytes.Equal(readFile(t, a.StoreFile()), data) {
			t.Error("reading the swapped store rewrote it")
		}
	})
}
