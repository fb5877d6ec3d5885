//go:build linux

package keyring

// Tests against a real Secret Service: gnome-keyring on a private D-Bus
// session, as scripts/with-secret-service.sh provides:
//
//	scripts/with-secret-service.sh go test -count=1 ./keyring/
//
// Without a session bus whose Secret Service answers they skip, unless
// DOCKER_CREDENTIAL_NOTATION_REQUIRE_SECRET_SERVICE=1 (set by the script, and
// so in CI), which makes that a failure. Tests that lock, stop or kill the
// keyring daemon run only inside the script's throwaway session (it exports
// TEST_KEYRING_PASSWORD); elsewhere, on a developer's desktop session, only
// items of test-only service names are created, and they are removed.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
)

const envRequireSecretService = "DOCKER_CREDENTIAL_NOTATION_REQUIRE_SECRET_SERVICE"

// inThrowawaySession reports whether the tests run inside
// with-secret-service.sh, where the keyring may be locked, stopped and
// killed.
func inThrowawaySession() bool { return os.Getenv("TEST_KEYRING_PASSWORD") != "" }

var serviceSeq atomic.Int64

// testService returns a service name of its own for one test, and removes
// its items when the test ends.
func testService(t testing.TB) string {
	service := fmt.Sprintf("docker-credential-notation-test-%d-%d", os.Getpid(), serviceSeq.Add(1))
	t.Cleanup(func() { _ = gokeyring.DeleteAll(service) })
	return service
}

// requireSecretService skips (or, when required, fails) unless a Secret
// Service answers on the session bus.
func requireSecretService(t testing.TB) {
	t.Helper()
	why := ""
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		why = "DBUS_SESSION_BUS_ADDRESS is not set"
	} else {
		s, err := New(Options{Dir: t.TempDir(), Service: "docker-credential-notation-probe"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Probe(context.Background()); err != nil {
			why = err.Error()
		}
	}
	if why == "" {
		return
	}
	if os.Getenv(envRequireSecretService) == "1" {
		t.Fatalf("no usable Secret Service (%s), and %s=1", why, envRequireSecretService)
	}
	t.Skipf("no usable Secret Service: %s; run: scripts/with-secret-service.sh go test ./keyring/", why)
}

func newRealStore(t testing.TB, service string, chunk int) *Store {
	t.Helper()
	s, err := New(Options{Dir: t.TempDir(), Service: service, ChunkSize: chunk})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSecretServiceConformance(t *testing.T) {
	requireSecretService(t)
	for _, chunk := range []int{0, windowsBlobMax} {
		t.Run(fmt.Sprintf("chunk%d", chunk), func(t *testing.T) {
			helpertest.Run(t, func(t *testing.T) helper.Store {
				s := newRealStore(t, testService(t), chunk)
				t.Cleanup(func() { checkRealNoGarbage(t, s) })
				return s
			})
		})
	}
}

// ssItem is one Secret Service item, as secret-tool would show it.
type ssItem struct {
	label string
	attrs map[string]string
}

// ssItems lists the items of service in the collection go-keyring uses.
func ssItems(t testing.TB, service string) []ssItem {
	t.Helper()
	conn, err := dbus.SessionBus()
	if err != nil {
		t.Fatal(err)
	}
	coll := conn.Object(ssName, ssLoginCollection)
	var paths []dbus.ObjectPath
	if err := coll.Call(ssCollection+".SearchItems", 0, map[string]string{"service": service}).Store(&paths); err != nil {
		t.Fatalf("SearchItems: %v", err)
	}
	var items []ssItem
	for _, p := range paths {
		var it ssItem
		obj := conn.Object(ssName, p)
		if err := obj.Call(dbusPropertiesGet, 0, "org.freedesktop.Secret.Item", "Label").Store(&it.label); err != nil {
			t.Fatal(err)
		}
		if err := obj.Call(dbusPropertiesGet, 0, "org.freedesktop.Secret.Item", "Attributes").Store(&it.attrs); err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	return items
}

func checkRealNoGarbage(t *testing.T, s *Store) {
	t.Helper()
	var got []string
	for _, it := range ssItems(t, s.service) {
		got = append(got, it.attrs["username"])
	}
	sort.Strings(got)
	if want := expectedUsers(t, s); !slices.Equal(got, want) {
		t.Errorf("Secret Service items of %q:\n got  %q\n want %q (those the index names)", s.service, got, want)
	}
}

// TestSecretServiceItems checks what a user browsing the keyring sees, and
// that a 64 KiB identity token round-trips in one item.
func TestSecretServiceItems(t *testing.T) {
	requireSecretService(t)
	service := testService(t)
	if inThrowawaySession() {
		service = DefaultService // nothing of the user's is there to disturb
		t.Cleanup(func() { _ = gokeyring.DeleteAll(service) })
	}
	s := newRealStore(t, service, 0)
	token := strings.Repeat("eyJhbGciOiJSUzI1NiJ9.", 64<<10/21+1)[:64<<10]
	mustPut(t, s, "https://index.docker.io/v1/", helper.IdentityTokenUsername, token)
	mustPut(t, s, "registry.example.com:5000", "alice", "s3cret")
	if got := mustGet(t, s, "docker.io"); got.Secret != token || got.Username != "<token>" {
		t.Fatalf("64 KiB identity token did not round-trip: %v, %d bytes", got, len(got.Secret))
	}

	want := map[string]bool{
		"Password for 'docker.io #1' on '" + service + "'":                 false,
		"Password for 'registry.example.com:5000 #2' on '" + service + "'": false,
		"Password for '(index)' on '" + service + "'":                      false,
	}
	// The attributes: Get finds an entry's items by "key".
	wantAttrs := map[string]map[string]string{
		"docker.io #1": {"service": service, "username": "docker.io #1", "key": "docker.io", "gen": "1",
			"server": "https://index.docker.io/v1/", "account": helper.IdentityTokenUsername},
		"registry.example.com:5000 #2": {"service": service, "username": "registry.example.com:5000 #2", "key": "registry.example.com:5000", "gen": "2",
			"server": "registry.example.com:5000", "account": "alice"},
		"(index)": {"service": service, "username": "(index)", "gen": "2", "last": "registry.example.com:5000"},
	}
	for _, it := range ssItems(t, service) {
		if _, ok := want[it.label]; !ok {
			t.Errorf("unexpected item %q %v", it.label, it.attrs)
		}
		want[it.label] = true
		delete(it.attrs, "xdg:schema") // gnome-keyring may add it
		if w := wantAttrs[it.attrs["username"]]; !maps.Equal(it.attrs, w) {
			t.Errorf("item %q has attributes\n %v, want\n %v", it.label, it.attrs, w)
		}
	}
	for label, seen := range want {
		if !seen {
			t.Errorf("no item %q", label)
		}
	}

	if path, err := exec.LookPath("secret-tool"); err != nil {
		t.Logf("secret-tool not found; skipping its view")
	} else {
		out, err := exec.Command(path, "search", "--all", "service", service).CombinedOutput()
		if err != nil {
			t.Fatalf("secret-tool search: %v\n%s", err, out)
		}
		for _, w := range []string{
			"label = Password for 'docker.io #1' on '" + service + "'",
			"attribute.username = registry.example.com:5000 #2",
			"attribute.service = " + service,
			"label = Password for '(index)' on '" + service + "'",
		} {
			if !strings.Contains(string(out), w) {
				t.Errorf("secret-tool search --all service %s does not show %q:\n%s", service, w, out)
			}
		}
	}
	checkRealNoGarbage(t, s)
}

// TestNoSessionBus runs in a child process, because godbus keeps one
// process-wide session bus connection: with no session bus, and with a
// bogus address, Probe and Put fail at once, with ErrUnavailable and a hint,
// never not-found, and godbus never starts a bus of its own.
func TestNoSessionBus(t *testing.T) {
	if mode := os.Getenv("KEYRING_TEST_NO_BUS_CHILD"); mode != "" {
		noSessionBusChild(t)
		return
	}
	for name, addr := range map[string]string{
		"unset": "",
		"bogus": "unix:path=/nonexistent/docker-credential-notation-test/bus",
	} {
		t.Run(name, func(t *testing.T) {
			if addr == "" {
				if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
					t.Skip("/run/user/UID/bus exists: godbus finds a session bus without DBUS_SESSION_BUS_ADDRESS")
				}
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestNoSessionBus$", "-test.v", "-test.count=1")
			cmd.Env = append(slices.DeleteFunc(os.Environ(), func(e string) bool {
				return strings.HasPrefix(e, "DBUS_SESSION_BUS_ADDRESS=")
			}), "KEYRING_TEST_NO_BUS_CHILD=1")
			if addr != "" {
				cmd.Env = append(cmd.Env, "DBUS_SESSION_BUS_ADDRESS="+addr)
			}
			out, err := cmd.CombinedOutput()
			t.Logf("child:\n%s", out)
			if err != nil {
				t.Fatalf("child failed: %v", err)
			}
		})
	}
}

func noSessionBusChild(t *testing.T) {
	s := newRealStore(t, "docker-credential-notation-no-bus", 0)
	k := key(t, "registry.example.com")
	for name, fn := range map[string]func(context.Context) error{
		"Probe": s.Probe,
		"Put": func(ctx context.Context) error {
			return s.Put(ctx, k, helper.Credentials{ServerURL: "registry.example.com", Username: "u", Secret: "s"})
		},
		"Get": func(ctx context.Context) error { _, err := s.Get(ctx, k); return err },
	} {
		start := time.Now()
		err := within(t, 10*time.Second, func() error { return fn(context.Background()) })
		t.Logf("%s: %v (hint: %s) in %v", name, err, helper.Hint(err), time.Since(start).Round(time.Millisecond))
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, helper.ErrNotFound) || !strings.Contains(helper.Hint(err), "DOCKER_CREDENTIAL_NOTATION_BACKEND=file") {
			t.Errorf("%s with no session bus: %v (hint %q), want ErrUnavailable with a hint to select the file backend", name, err, helper.Hint(err))
		}
	}
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && !strings.Contains(a, "/nonexistent/") {
		t.Errorf("a session bus was started: DBUS_SESSION_BUS_ADDRESS=%s", a)
	}
}

// secretServicePID returns the process id of the Secret Service.
func secretServicePID(t *testing.T) int {
	t.Helper()
	conn, err := dbus.SessionBus()
	if err != nil {
		t.Fatal(err)
	}
	var pid uint32
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, ssName).Store(&pid); err != nil {
		t.Fatalf("GetConnectionUnixProcessID: %v", err)
	}
	return int(pid)
}

// lockLogin locks the login keyring (Secret Service Lock, as a screen
// locker would) and returns a function that unlocks it again with the
// throwaway password, through gnome-keyring's own interface (Seahorse's way),
// since the standard Unlock needs a prompt and there is no display.
func lockLogin(t *testing.T) (unlock func()) {
	t.Helper()
	conn, err := dbus.SessionBus()
	if err != nil {
		t.Fatal(err)
	}
	svc := conn.Object(ssName, ssPath)
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Call(ssInterface+".Lock", 0, []dbus.ObjectPath{ssLoginCollection}).Store(&locked, &prompt); err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if len(locked) != 1 {
		t.Fatalf("Lock locked %v (prompt %v)", locked, prompt)
	}
	unlock = func() {
		t.Helper()
		var out dbus.Variant
		var session dbus.ObjectPath
		if err := svc.Call(ssInterface+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
			t.Fatalf("OpenSession: %v", err)
		}
		secret := struct {
			Session     dbus.ObjectPath
			Parameters  []byte
			Value       []byte
			ContentType string
		}{session, []byte{}, []byte(os.Getenv("TEST_KEYRING_PASSWORD")), "text/plain"}
		err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0, ssLoginCollection, secret).Err
		if err != nil {
			t.Fatalf("UnlockWithMasterPassword: %v", err)
		}
	}
	return unlock
}

func TestSecretServiceLocked(t *testing.T) {
	requireSecretService(t)
	if !inThrowawaySession() {
		t.Skip("locks the login keyring: runs only inside scripts/with-secret-service.sh")
	}
	s := newRealStore(t, testService(t), 0)
	mustPut(t, s, "registry.example.com", "alice", "x")
	unlock := lockLogin(t)
	defer unlock()
	ctx := context.Background()
	k := key(t, "registry.example.com")
	for name, fn := range map[string]func() error{
		"Probe": func() error { return s.Probe(ctx) },
		"Get":   func() error { _, err := s.Get(ctx, k); return err },
		"List":  func() error { _, err := s.List(ctx); return err },
		"Put": func() error {
			return s.Put(ctx, k, helper.Credentials{ServerURL: "registry.example.com", Username: "bob", Secret: "y"})
		},
	} {
		start := time.Now()
		err := within(t, 15*time.Second, fn)
		t.Logf("%s on a locked keyring, after %v: %v\n\thint: %s", name, time.Since(start).Round(time.Millisecond), err, helper.Hint(err))
		if !errors.Is(err, ErrLocked) || errors.Is(err, helper.ErrNotFound) || !strings.Contains(helper.Hint(err), "unlock") {
			t.Errorf("%s on a locked keyring: %v (hint %q), want ErrLocked with a hint to unlock", name, err, helper.Hint(err))
		}
	}
	unlock()
	if got := mustGet(t, s, "registry.example.com"); got.Username != "alice" || got.Secret != "x" {
		t.Errorf("after unlocking: %v", got)
	}
	checkRealNoGarbage(t, s)
}

// TestSecretServiceHung stops the keyring daemon (SIGSTOP): calls time out
// at the deadline with ErrTimeout instead of hanging, and once it runs again
// everything is as before.
func TestSecretServiceHung(t *testing.T) {
	requireSecretService(t)
	if !inThrowawaySession() {
		t.Skip("stops the keyring daemon: runs only inside scripts/with-secret-service.sh")
	}
	s, err := New(Options{Dir: t.TempDir(), Service: testService(t), Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "registry.example.com", "alice", "x")
	pid := secretServicePID(t)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	defer resume()
	k := key(t, "registry.example.com")
	for name, fn := range map[string]func() error{
		"Probe": func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			return s.Probe(ctx)
		},
		"Get": func() error { _, err := s.Get(context.Background(), k); return err },
		"Put": func() error {
			return s.Put(context.Background(), k, helper.Credentials{ServerURL: "registry.example.com", Username: "bob", Secret: "y"})
		},
	} {
		start := time.Now()
		err := within(t, 15*time.Second, fn)
		t.Logf("%s on a stopped keyring daemon, after %v: %v\n\thint: %s", name, time.Since(start).Round(time.Millisecond), err, helper.Hint(err))
		if !errors.Is(err, ErrTimeout) || errors.Is(err, helper.ErrNotFound) || helper.Hint(err) == "" {
			t.Errorf("%s on a stopped keyring daemon: %v (hint %q), want ErrTimeout with a hint", name, err, helper.Hint(err))
		}
	}
	resume()
	// The Put above may land late (it was abandoned, not stopped); either
	// credential is right, a mix or an error is not.
	var got helper.Credentials
	for range 100 { // until the abandoned write releases the lock
		if got, err = s.Get(context.Background(), k); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || !(got.Username == "alice" && got.Secret == "x" || got.Username == "bob" && got.Secret == "y") {
		t.Fatalf("after the daemon resumed: %v, %v", got, err)
	}
	var perr error
	for range 100 {
		if perr = s.Put(context.Background(), key(t, "other.example.com"), helper.Credentials{ServerURL: "other.example.com", Username: "u", Secret: "s"}); perr == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if perr != nil {
		t.Fatal(perr)
	}
	checkRealNoGarbage(t, s)
}

// TestSecretServiceVanishes kills the keyring daemon between two calls.
// D-Bus activation then starts a new one, whose keyring is locked: the
// answer is an error with a hint, not not-found, and nothing is lost once
// the keyring is back.
func TestSecretServiceVanishes(t *testing.T) {
	requireSecretService(t)
	if !inThrowawaySession() {
		t.Skip("kills the keyring daemon: runs only inside scripts/with-secret-service.sh")
	}
	s := newRealStore(t, testService(t), 0)
	mustPut(t, s, "registry.example.com", "alice", "x")
	pid := secretServicePID(t)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for range 100 { // until it has left the bus
		if p := ssOwnerPID(); p != pid {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer restartKeyring(t)
	start := time.Now()
	_, err := s.Get(context.Background(), key(t, "registry.example.com"))
	t.Logf("Get after the daemon was killed, after %v: %v\n\thint: %s", time.Since(start).Round(time.Millisecond), err, helper.Hint(err))
	if err == nil || errors.Is(err, helper.ErrNotFound) || helper.Hint(err) == "" {
		t.Fatalf("Get after the keyring daemon died: %v (hint %q), want an error with a hint", err, helper.Hint(err))
	}
	restartKeyring(t)
	if got := mustGet(t, s, "registry.example.com"); got.Secret != "x" {
		t.Errorf("after restarting the keyring: %v", got)
	}
}

func ssOwnerPID() int {
	conn, err := dbus.SessionBus()
	if err != nil {
		return 0
	}
	var pid uint32
	if conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, ssName).Store(&pid) != nil {
		return 0
	}
	return int(pid)
}

// restartKeyring replaces whatever keyring daemon runs with one unlocked by
// the throwaway password, as with-secret-service.sh started it.
func restartKeyring(t *testing.T) {
	t.Helper()
	cmd := exec.Command("gnome-keyring-daemon", "--replace", "--unlock", "--components=secrets")
	cmd.Stdin = strings.NewReader(os.Getenv("TEST_KEYRING_PASSWORD"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gnome-keyring-daemon --replace --unlock: %v\n%s", err, out)
	}
	for range 100 {
		s := newRealStore(t, "docker-credential-notation-probe", 0)
		if s.Probe(context.Background()) == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the restarted keyring daemon does not answer")
}

// BenchmarkSecretService measures Get, List and Put against the real
// gnome-keyring, with 1, 100 and 1000 entries:
//
//	scripts/with-secret-service.sh go test -run '^$' -bench SecretService -benchtime 20x ./keyring/
func BenchmarkSecretService(b *testing.B) {
	requireSecretService(b)
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			s, err := New(Options{Dir: b.TempDir(), Service: testService(b)})
			if err != nil {
				b.Fatal(err)
			}
			benchStore(b, s, n)
		})
	}
}

// TestSecretServiceItemCalls checks the itemKeyring calls against the real
// Secret Service: Create replaces only an item with the same attributes,
// Search matches a subset of them, and an item removed meanwhile is absent
// from Secrets rather than an error (readers rely on that to start over).
func TestSecretServiceItemCalls(t *testing.T) {
	requireSecretService(t)
	service := testService(t)
	var kr itemKeyring = systemKeyring{}
	a1 := map[string]string{"service": service, "username": "x", "gen": "1"}
	a2 := map[string]string{"service": service, "username": "x", "gen": "2"}
	for _, c := range []struct {
		attrs  map[string]string
		secret string
	}{{a1, "one"}, {a2, "two"}, {a1, "one again"}} {
		if err := kr.Create(itemLabel(service, "x"), c.attrs, c.secret); err != nil {
			t.Fatal(err)
		}
	}
	res, err := kr.Search(map[string]string{"service": service, "username": "x"}, a1, map[string]string{"service": service, "gen": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || len(res[0]) != 2 || len(res[1]) != 1 || len(res[2]) != 0 {
		t.Fatalf("Search found %v, want 2, 1 and 0 items", res)
	}
	// gnome-keyring adds the schema of items created without one.
	delete(res[1][0].Attrs, "xdg:schema")
	if !maps.Equal(res[1][0].Attrs, a1) {
		t.Errorf("attributes %v, want %v", res[1][0].Attrs, a1)
	}
	ids := []string{res[0][0].ID, res[0][1].ID}
	got, err := kr.Secrets(ids)
	if err != nil {
		t.Fatal(err)
	}
	if got[res[1][0].ID] != "one again" || len(got) != 2 {
		t.Errorf("Secrets = %q", got)
	}
	if err := kr.Remove(res[1][0].ID); err != nil {
		t.Fatal(err)
	}
	if err := kr.Remove(res[1][0].ID); err != nil {
		t.Errorf("removing an item again: %v, want nil", err)
	}
	got, err = kr.Secrets(ids)
	if err != nil {
		t.Fatalf("Secrets with a removed item: %v", err)
	}
	if len(got) != 1 {
		t.Errorf("Secrets with a removed item = %q, want only the other", got)
	}
	if err := kr.Create(itemLabel(service, "e"), map[string]string{"service": service, "username": "e"}, ""); err != nil {
		t.Fatalf("creating an empty secret: %v", err)
	}
}

// BenchmarkSecretServiceCalls measures the D-Bus calls that Get makes, one
// by one, against gnome-keyring holding 1000 entries, to show
// where the time of a Get goes:
//
//	scripts/with-secret-service.sh go test -run '^$' -bench SecretServiceCalls -benchtime 20x ./keyring/
func BenchmarkSecretServiceCalls(b *testing.B) {
	requireSecretService(b)
	s, err := New(Options{Dir: b.TempDir(), Service: testService(b)})
	if err != nil {
		b.Fatal(err)
	}
	seed(b, s, 1000)
	svc, coll, err := openCollection()
	if err != nil {
		b.Fatal(err)
	}
	keyQuery := map[string]string{attrService: s.service, attrKey: "registry-0000.example.com"}
	paths, err := svc.SearchItems(coll, keyQuery)
	if err != nil || len(paths) != 1 {
		b.Fatal(paths, err)
	}
	b.Run("Collections+Unlock", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := openCollection(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SearchItems/key", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.SearchItems(coll, keyQuery); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SearchItems/root", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.SearchItems(coll, s.rootQuery()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SearchItems/service+username", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.SearchItems(coll, map[string]string{attrService: s.service, attrUser: "registry-0000.example.com #1"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Attributes", func(b *testing.B) {
		for b.Loop() {
			var attrs map[string]string
			if err := svc.Object(ssName, paths[0]).Call(dbusPropertiesGet, 0, ssItemInterface, "Attributes").Store(&attrs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Secrets", func(b *testing.B) {
		for b.Loop() {
			if _, err := (systemKeyring{}).Secrets([]string{string(paths[0])}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		k := key(b, "registry-0000.example.com")
		for b.Loop() {
			if _, err := s.Get(context.Background(), k); err != nil {
				b.Fatal(err)
			}
		}
	})
}
