package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
)

// sharedKeys are the server URLs every process fights over; the distinct
// keys belong to one worker each.
var sharedKeys = []string{"shared0.example.com", "https://shared1.example.com", "shared2.example.com:5000", "[::1]:5003"}

// TestConcurrencyFileStore runs RELIABILITY_PROCS helper processes at once
// (64 by default), each storing, getting, erasing and listing its own key
// and the shared keys, over RELIABILITY_ROUNDS rounds.
func TestConcurrencyFileStore(t *testing.T) {
	s := newSandbox(t)
	runConcurrency(t, s, envInt(t, "RELIABILITY_PROCS", 64), envInt(t, "RELIABILITY_ROUNDS", 3))
	checkDecryptsWithAge(t, s)
}

// TestConcurrencyKeychain is the same against a real Secret Service.
func TestConcurrencyKeychain(t *testing.T) {
	if os.Getenv("TEST_KEYRING_PASSWORD") == "" {
		t.Skip("no private Secret Service: run inside scripts/with-secret-service.sh")
	}
	s := newSandbox(t, "DOCKER_CREDENTIAL_NOTATION_BACKEND=keychain",
		"DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	// The keychain is shared by every sandbox: start from an empty index.
	m, r := s.list(t)
	if m == nil {
		t.Fatalf("list: %v", r)
	}
	for server := range m {
		if r := s.run(t, server, "erase"); r.Code != 0 {
			t.Fatalf("erase %s: %v", server, r)
		}
	}
	runConcurrency(t, s, envInt(t, "RELIABILITY_KEYCHAIN_PROCS", 8), envInt(t, "RELIABILITY_ROUNDS", 3))
	m, _ = s.list(t)
	for server := range m {
		s.run(t, server, "erase")
	}
}

// outcome is what one process did, for the checks after a round.
type outcome struct {
	op, server string
	r          result
}

func runConcurrency(t *testing.T, s *sandbox, procs, rounds int) {
	// want is the expected final username of each distinct key ("" = absent).
	want := map[string]string{}
	// maybe holds the other values a distinct key may hold after a write
	// that timed out.
	maybe := map[string]map[string]bool{}
	// written holds every username any process stored under a shared key.
	written := map[string]map[string]bool{}
	erased := map[string]bool{}
	for _, k := range sharedKeys {
		written[k] = map[string]bool{}
	}
	var total, failures, timeouts int
	for round := 0; round < rounds; round++ {
		var (
			mu       sync.Mutex
			outcomes []outcome
			wg       sync.WaitGroup
		)
		record := func(op, server string, r result) {
			mu.Lock()
			outcomes = append(outcomes, outcome{op, server, r})
			mu.Unlock()
		}
		// final[i] is worker i's own key after the round, from what its
		// own writes answered; ambiguous[i] holds the other values it may
		// hold after a write that timed out (it may or may not have landed).
		final := make([]string, procs)
		ambiguous := make([]map[string]bool, procs)
		for i := 0; i < procs; i++ {
			own := fmt.Sprintf("distinct%d.example.com", i)
			v1 := fmt.Sprintf("r%d-w%d-a", round, i)
			v2 := fmt.Sprintf("r%d-w%d-b", round, i)
			shared := sharedKeys[i%len(sharedKeys)]
			sv := fmt.Sprintf("r%d-w%d-shared", round, i)
			eraseOwn := (i+round)%3 == 0
			switch (i + round) % 4 {
			case 0:
				written[shared][sv] = true
			case 2:
				erased[shared] = true
			}
			prev := want[own]
			prevAmb := maybe[own]
			wg.Add(1)
			go func() {
				defer wg.Done()
				cur := prev
				amb := map[string]bool{}
				for v := range prevAmb {
					amb[v] = true
				}
				wrote := func(r result, v string) {
					switch {
					case r.Code == 0:
						cur = v
						amb = map[string]bool{}
					case isAmbiguous(r):
						amb[cur] = true
						cur = v
					}
				}
				r := s.run(t, credJSON(own, v1, "secret-"+v1), "store")
				record("store", own, r)
				wrote(r, v1)
				switch (i + round) % 4 {
				case 0:
					record("store", shared, s.run(t, credJSON(shared, sv, "secret-"+sv), "store"))
				case 1:
					record("get", shared, s.run(t, shared, "get"))
				case 2:
					record("erase", shared, s.run(t, shared, "erase"))
				case 3:
					record("list", "", s.run(t, "", "list"))
				}
				r = s.run(t, own, "get")
				record("get", own, r)
				if r.Code == 0 || r.Stdout == notFound+"\n" {
					got := ""
					var c cred
					if r.Code == 0 && json.Unmarshal([]byte(r.Stdout), &c) == nil {
						got = c.Username
					}
					if got != cur && !amb[got] {
						t.Errorf("round %d: get %s answered %q, want %q: %v", round, own, got, cur, r)
					}
				}
				if eraseOwn {
					r = s.run(t, own, "erase")
					record("erase", own, r)
					if r.Stdout == notFound+"\n" {
						r.Code = 0
					}
					wrote(r, "")
				} else {
					r = s.run(t, credJSON(own, v2, "secret-"+v2), "store")
					record("store", own, r)
					wrote(r, v2)
				}
				final[i], ambiguous[i] = cur, amb
			}()
		}
		wg.Wait()
		for i := range procs {
			want[fmt.Sprintf("distinct%d.example.com", i)] = final[i]
			maybe[fmt.Sprintf("distinct%d.example.com", i)] = ambiguous[i]
		}
		total += len(outcomes)
		for _, o := range outcomes {
			switch {
			case o.r.Code == 0:
			case o.r.Code == 1 && (o.op == "get" || o.op == "erase") && o.r.Stdout == notFound+"\n":
				// The documented answer for a missing entry.
			case isAmbiguous(o.r):
				// A documented timeout: the 10 s wait for the writers'
				// lock, or a keychain call past its deadline.
				timeouts++
			default:
				failures++
				t.Errorf("round %d: %s %s: %v", round, o.op, o.server, o.r)
			}
			if o.op == "get" && o.r.Code == 0 {
				for _, k := range sharedKeys {
					if o.server == k && !usernameIn(o.r.Stdout, written[k]) {
						t.Errorf("round %d: get %s answered %q, which no process wrote", round, k, o.r.Stdout)
					}
				}
			}
		}
		checkFinal(t, s, round, want, maybe, written, erased)
	}
	t.Logf("%d processes at once, %d rounds, %d helper runs, %d failures, %d timeouts (documented errors)", procs, rounds, total, failures, timeouts)
}

// isAmbiguous reports a documented timeout of a write, after which the
// write may or may not have landed: the wait for the writers' lock (nothing
// written) or, for the keychain, a call past its deadline.
func isAmbiguous(r result) bool {
	if r.Code != 1 {
		return false
	}
	lock := strings.Contains(r.Stdout, "timed out waiting for the lock") &&
		strings.Contains(r.Stderr, "hint: another docker-credential-notation process is writing; retry")
	keychain := strings.Contains(r.Stdout, "the keychain did not answer in time") &&
		strings.Contains(r.Stderr, "hint: check that the Secret Service")
	return lock || keychain
}

func usernameIn(stdout string, set map[string]bool) bool {
	for v := range set {
		if strings.Contains(stdout, `"Username":"`+v+`"`) {
			return true
		}
	}
	return false
}

// checkFinal compares the store after a round with what the processes did:
// list and get agree, no distinct key lost, each shared key holds a value
// some process wrote.
func checkFinal(t *testing.T, s *sandbox, round int, want map[string]string, maybe map[string]map[string]bool, written map[string]map[string]bool, erased map[string]bool) {
	t.Helper()
	m, r := s.list(t)
	if m == nil {
		t.Fatalf("round %d: the store no longer lists: %v", round, r)
	}
	for server, user := range want {
		got := m[server]
		if got != user && !maybe[server][got] {
			t.Errorf("round %d: %s lists %q, want %q (an update was lost)", round, server, got, user)
		}
	}
	for _, k := range sharedKeys {
		got, ok := m[k]
		switch {
		case ok && !written[k][got]:
			t.Errorf("round %d: shared %s holds %q, which no process wrote", round, k, got)
		case !ok && len(written[k]) > 0 && !erased[k]:
			t.Errorf("round %d: shared %s is missing but was never erased", round, k)
		}
	}
	// get agrees with list, for every listed entry and the shared keys.
	var wg sync.WaitGroup
	for server, user := range m {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, found := s.get(t, server)
			if !found || c.Username != user || c.Secret != "secret-"+user {
				t.Errorf("round %d: list says %s is %q; get says %+v (found %v)", round, server, user, c, found)
			}
		}()
	}
	for _, k := range sharedKeys {
		if _, listed := m[k]; !listed {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if c, found := s.get(t, k); found {
					t.Errorf("round %d: %s is not listed but get answers %+v", round, k, c)
				}
			}()
		}
	}
	wg.Wait()
}

// checkDecryptsWithAge decrypts the store with the stock age command when it
// is on PATH, and with the age library otherwise.
func checkDecryptsWithAge(t *testing.T, s *sandbox) {
	t.Helper()
	id := filepath.Join(s.StoreDir, "identity.txt")
	if path, err := exec.LookPath("age"); err == nil {
		out, err := exec.Command(path, "-d", "-i", id, s.StoreFile()).Output()
		if err != nil || !bytes.Contains(out, []byte(`"version":1`)) {
			t.Errorf("age -d: %v\n%s", err, out)
		}
		t.Logf("the stock age command (%s) decrypts the store", path)
		return
	}
	f, err := os.Open(id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		t.Fatalf("failed to parse the generated identity: %v", err)
	}
	r, err := age.Decrypt(bytes.NewReader(readFile(t, s.StoreFile())), ids...)
	if err != nil {
		t.Fatalf("the age library cannot decrypt the store: %v", err)
	}
	plain, err := io.ReadAll(r)
	if err != nil || !bytes.Contains(plain, []byte(`"version":1`)) {
		t.Errorf("the age library cannot decrypt the store: %v", err)
	}
	t.Log("age is not on PATH; the age library decrypts the store")
}
