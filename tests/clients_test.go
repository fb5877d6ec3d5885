package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"oras.land/oras-go/v2/registry/remote/auth"
	orascreds "oras.land/oras-go/v2/registry/remote/credentials"
)

// helperSuffix is what docker's credsStore / credHelpers and oras-go's
// NewNativeStore take: the program is docker-credential-<suffix>.
const helperSuffix = "notation"

// listByBinary runs `docker-credential-notation list` itself, so that what
// a client library wrote is checked by a second reader of the store file.
func listByBinary(t *testing.T) map[string]string {
	t.Helper()
	r := runHelper(t, "unused", "list")
	if r.Code != 0 {
		t.Fatalf("list: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		t.Fatalf("list printed %q: %v", r.Stdout, err)
	}
	return m
}

// assertNoPlaintext fails if the secret appears in any file under dir.
func assertNoPlaintext(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("%s holds the secret %q in plain text", path, s)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDockerClient drives the binary through
// github.com/docker/docker-credential-helpers/client, which the docker CLI
// uses to run credential helpers.
func TestDockerClient(t *testing.T) {
	s := isolate(t)
	program := client.NewShellProgramFunc(binName)

	list, err := client.List(program)
	if err != nil {
		t.Fatalf("List on an empty store: %v", err)
	}
	if len(list) != 0 {
		t.Errorf("List on an empty store = %v, want empty", list)
	}

	_, err = client.Get(program, "registry.example.com")
	if !credentials.IsErrCredentialsNotFound(err) {
		t.Fatalf("Get of a missing entry: %v, want a not-found error", err)
	}

	// docker login stores what the user typed for non-Hub registries
	// (older CLIs) or the bare host; Docker Hub under its legacy URL, and a
	// token-auth registry as <token> plus an identity token.
	creds := []*credentials.Credentials{
		{ServerURL: "https://registry.example.com", Username: "alice", Secret: "alice-password"},
		{ServerURL: "https://index.docker.io/v1/", Username: "hubuser", Secret: "dckr_pat_hub-secret"},
		{ServerURL: "localhost:5000", Username: "<token>", Secret: "identity<&>token-secret"},
		{ServerURL: "multi.example.com", Username: "bøb", Secret: "line one\nline two ✓"},
	}
	for _, c := range creds {
		if err := client.Store(program, c); err != nil {
			t.Fatalf("Store(%s): %v", c.ServerURL, err)
		}
	}

	tests := []struct {
		name, get string
		want      credentials.Credentials
	}{
		{"as stored", "https://registry.example.com", credentials.Credentials{ServerURL: "https://registry.example.com", Username: "alice", Secret: "alice-password"}},
		{"bare host", "registry.example.com", credentials.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "alice-password"}},
		{"docker hub", "https://index.docker.io/v1/", credentials.Credentials{ServerURL: "https://index.docker.io/v1/", Username: "hubuser", Secret: "dckr_pat_hub-secret"}},
		{"identity token", "localhost:5000", credentials.Credentials{ServerURL: "localhost:5000", Username: "<token>", Secret: "identity<&>token-secret"}},
		{"exotic", "multi.example.com", credentials.Credentials{ServerURL: "multi.example.com", Username: "bøb", Secret: "line one\nline two ✓"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.Get(program, tt.get)
			if err != nil {
				t.Fatalf("Get(%q): %v", tt.get, err)
			}
			if *got != tt.want {
				t.Errorf("Get(%q) = %+v, want %+v", tt.get, *got, tt.want)
			}
		})
	}

	// Docker Hub's web-login token keys stay apart from its credential.
	_, err = client.Get(program, "https://index.docker.io/v1/access-token")
	if !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("Get of the missing Hub access token: %v, want not-found", err)
	}
	// crane asks for a repository-scoped key first.
	_, err = client.Get(program, "localhost:5000/ns/repo")
	if !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("Get of a repository-scoped key: %v, want not-found", err)
	}

	wantList := map[string]string{
		"https://registry.example.com": "alice",
		"https://index.docker.io/v1/":  "hubuser",
		"localhost:5000":               "<token>",
		"multi.example.com":            "bøb",
	}
	list, err = client.List(program)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if !maps.Equal(list, wantList) {
		t.Errorf("List = %v, want %v", list, wantList)
	}

	// docker logout erases https://HOST, http://HOST and HOST and is happy
	// when one succeeds; here the first does.
	if err := client.Erase(program, "https://registry.example.com"); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if err := client.Erase(program, "registry.example.com"); err == nil || !strings.Contains(err.Error(), "credentials not found in native keychain") {
		t.Errorf("second Erase: %v, want the not-found message", err)
	}
	if _, err := client.Get(program, "registry.example.com"); !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("Get after Erase: %v, want not-found", err)
	}

	// The protocol's own messages reach the client, which recognizes them.
	err = client.Store(program, &credentials.Credentials{ServerURL: "", Username: "u", Secret: "s"})
	if err == nil || !strings.Contains(err.Error(), "no credentials server URL") {
		t.Errorf("Store without a server URL: %v", err)
	}
	err = client.Store(program, &credentials.Credentials{ServerURL: "x.example.com", Username: "", Secret: "s"})
	if err == nil || !strings.Contains(err.Error(), "no credentials username") {
		t.Errorf("Store without a username: %v", err)
	}

	// What the client wrote, the binary reads back from disk; no secret is
	// on disk in plain text.
	delete(wantList, "https://registry.example.com")
	if got := listByBinary(t); !maps.Equal(got, wantList) {
		t.Errorf("list after the client's writes = %v, want %v", got, wantList)
	}
	assertNoPlaintext(t, s.StoreDir, "alice-password", "dckr_pat_hub-secret", "identity<&>token-secret")
}

// TestORASNativeStore drives the binary through oras-go's native store,
// which notation and oras use.
func TestORASNativeStore(t *testing.T) {
	s := isolate(t)
	ctx := context.Background()
	store := orascreds.NewNativeStore(helperSuffix)

	got, err := store.Get(ctx, "registry.example.com")
	if err != nil || got != auth.EmptyCredential {
		t.Fatalf("Get of a missing server = %+v, %v; want the empty credential and no error", got, err)
	}

	basic := auth.Credential{Username: "alice", Password: "alice-password"}
	if err := store.Put(ctx, "registry.example.com", basic); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, err = store.Get(ctx, "registry.example.com")
	if err != nil || got != basic {
		t.Errorf("Get = %+v, %v; want %+v", got, err, basic)
	}

	// A refresh token is stored as Username <token> and comes back as a
	// refresh token.
	refresh := auth.Credential{RefreshToken: "refresh<&>token-secret"}
	if err := store.Put(ctx, "localhost:5000", refresh); err != nil {
		t.Fatalf("Put(refresh token): %v", err)
	}
	got, err = store.Get(ctx, "localhost:5000")
	if err != nil || got != refresh {
		t.Errorf("Get(refresh token) = %+v, %v; want %+v", got, err, refresh)
	}
	if r := runHelper(t, "localhost:5000", "get"); r.Code != 0 || !strings.Contains(r.Stdout, `"Username":"\u003ctoken\u003e"`) {
		t.Errorf("get by the binary: exit %d, %q; want Username <token>", r.Code, r.Stdout)
	}

	// oras maps docker.io to Docker Hub's legacy key.
	hub := orascreds.ServerAddressFromRegistry("docker.io")
	if err := store.Put(ctx, hub, auth.Credential{Username: "hubuser", Password: "hub-secret"}); err != nil {
		t.Fatalf("Put(%s): %v", hub, err)
	}

	want := map[string]string{
		"registry.example.com":        "alice",
		"localhost:5000":              "<token>",
		"https://index.docker.io/v1/": "hubuser",
	}
	if got := listByBinary(t); !maps.Equal(got, want) {
		t.Errorf("list = %v, want %v", got, want)
	}

	if err := store.Delete(ctx, "registry.example.com"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	got, err = store.Get(ctx, "registry.example.com")
	if err != nil || got != auth.EmptyCredential {
		t.Errorf("Get after Delete = %+v, %v; want the empty credential", got, err)
	}
	// oras-go passes the helper's not-found through on Delete; notation's
	// logout treats it as done.
	if err := store.Delete(ctx, "registry.example.com"); err == nil || err.Error() != "credentials not found in native keychain" {
		t.Errorf("second Delete: %v, want exactly the not-found message", err)
	}

	delete(want, "registry.example.com")
	if got := listByBinary(t); !maps.Equal(got, want) {
		t.Errorf("list after Delete = %v, want %v", got, want)
	}
	assertNoPlaintext(t, s.StoreDir, "alice-password", "refresh<&>token-secret", "hub-secret")

	// A failure is not silently anonymous: with a store the helper cannot
	// decrypt, oras-go gets the error, not the empty credential.
	t.Run("undecryptable store", func(t *testing.T) {
		good, err := os.ReadFile(s.StoreFile())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(s.StoreFile(), good[:len(good)-10], 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(s.StoreFile(), good, 0o600)
		got, err := store.Get(ctx, "localhost:5000")
		if err == nil {
			t.Fatalf("Get from a truncated store = %+v and no error", got)
		}
		if !strings.Contains(err.Error(), "failed to decrypt credential store") {
			t.Errorf("Get from a truncated store: %v", err)
		}
	})
}

// TestORASDockerConfig drives the binary through oras-go's config-file
// store: docker's config.json names the helper in credsStore or
// credHelpers, and the secret never lands in config.json.
func TestORASDockerConfig(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		config string
		// server is routed to the helper by config.
		server string
	}{
		{"credsStore", `{"credsStore":"notation"}`, "registry.example.com"},
		{"credHelpers", `{"credHelpers":{"registry.example.com":"notation"}}`, "registry.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := isolate(t)
			dir := filepath.Join(s.Home, ".docker")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "config.json")
			if err := os.WriteFile(path, []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}

			store, err := orascreds.NewStore(path, orascreds.StoreOptions{})
			if err != nil {
				t.Fatalf("NewStore: %v", err)
			}
			got, err := store.Get(ctx, tt.server)
			if err != nil || got != auth.EmptyCredential {
				t.Fatalf("Get before Put = %+v, %v; want the empty credential", got, err)
			}

			cred := auth.Credential{Username: "alice", Password: "config-route-secret"}
			if err := store.Put(ctx, tt.server, cred); err != nil {
				t.Fatalf("Put: %v", err)
			}
			got, err = store.Get(ctx, tt.server)
			if err != nil || got != cred {
				t.Errorf("Get = %+v, %v; want %+v", got, err, cred)
			}
			if got := listByBinary(t); !maps.Equal(got, map[string]string{tt.server: "alice"}) {
				t.Errorf("list = %v, want the one entry", got)
			}

			refresh := auth.Credential{RefreshToken: "config-route-refresh"}
			if err := store.Put(ctx, tt.server, refresh); err != nil {
				t.Fatalf("Put(refresh token): %v", err)
			}
			got, err = store.Get(ctx, tt.server)
			if err != nil || got != refresh {
				t.Errorf("Get(refresh token) = %+v, %v; want %+v", got, err, refresh)
			}

			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.config {
				t.Errorf("config.json changed to %s", b)
			}
			assertNoPlaintext(t, dir, "config-route-secret", "config-route-refresh")
			assertNoPlaintext(t, s.StoreDir, "config-route-secret", "config-route-refresh")

			if err := store.Delete(ctx, tt.server); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			got, err = store.Get(ctx, tt.server)
			if err != nil || got != auth.EmptyCredential {
				t.Errorf("Get after Delete = %+v, %v; want the empty credential", got, err)
			}
			if got := listByBinary(t); len(got) != 0 {
				t.Errorf("list after Delete = %v, want empty", got)
			}
		})
	}
}

// TestConcurrentStores runs many store processes at once, as parallel
// docker logins or a CI matrix do: writes are serialized, none is lost,
// and the store stays readable.
func TestConcurrentStores(t *testing.T) {
	isolate(t)
	program := client.NewShellProgramFunc(binName)
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- client.Store(program, &credentials.Credentials{
				ServerURL: fmt.Sprintf("registry%02d.example.com", i),
				Username:  fmt.Sprintf("user%02d", i),
				Secret:    fmt.Sprintf("secret%02d", i),
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got := listByBinary(t)
	if len(got) != n {
		t.Fatalf("list has %d entries after %d concurrent stores: %v", len(got), n, got)
	}
	for i := range n {
		server := fmt.Sprintf("registry%02d.example.com", i)
		c, err := client.Get(program, server)
		if err != nil {
			t.Errorf("Get(%s): %v", server, err)
			continue
		}
		if want := fmt.Sprintf("secret%02d", i); c.Secret != want {
			t.Errorf("Get(%s).Secret = %q, want %q", server, c.Secret, want)
		}
	}
}
