package helper_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
)

const notFoundMessage = "credentials not found in native keychain"

// handle runs helper.Handle and returns what it wrote to stdout.
func handle(t testing.TB, s helper.Store, action, stdin string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := helper.Handle(context.Background(), s, action, strings.NewReader(stdin), &out)
	if err != nil && out.Len() != 0 {
		t.Errorf("Handle(%s) failed with %q and also wrote %q to stdout", action, err, out.String())
	}
	return out.String(), err
}

// reference runs docker-credential-helpers' HandleCommand, the protocol's
// reference implementation, over the same kind of store.
func reference(t testing.TB, s helper.Store, action, stdin string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := credentials.HandleCommand(refHelper{s}, action, strings.NewReader(stdin), &out)
	return out.String(), err
}

// refHelper adapts a helper.Store to credentials.Helper, translating
// ErrNotFound into the reference's own not-found error.
type refHelper struct{ s helper.Store }

var _ credentials.Helper = refHelper{}

func (h refHelper) Add(c *credentials.Credentials) error {
	k, err := helper.ParseServerURL(c.ServerURL)
	if err != nil {
		return err
	}
	return h.s.Put(context.Background(), k, helper.Credentials{ServerURL: c.ServerURL, Username: c.Username, Secret: c.Secret})
}

func (h refHelper) Delete(serverURL string) error {
	k, err := helper.ParseServerURL(serverURL)
	if err != nil {
		return err
	}
	return refErr(h.s.Delete(context.Background(), k))
}

func (h refHelper) Get(serverURL string) (string, string, error) {
	k, err := helper.ParseServerURL(serverURL)
	if err != nil {
		return "", "", err
	}
	c, err := h.s.Get(context.Background(), k)
	if err != nil {
		return "", "", refErr(err)
	}
	return c.Username, c.Secret, nil
}

func (h refHelper) List() (map[string]string, error) {
	return h.s.List(context.Background())
}

func refErr(err error) error {
	if errors.Is(err, helper.ErrNotFound) {
		return credentials.NewErrCredentialsNotFound()
	}
	return err
}

func storePayload(serverURL, username, secret string) string {
	b, err := json.Marshal(credentials.Credentials{ServerURL: serverURL, Username: username, Secret: secret})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// snapshot is everything a store holds, to check that a failed action
// changed nothing.
func snapshot(t testing.TB, s helper.Store) map[string]helper.Credentials {
	t.Helper()
	ctx := context.Background()
	list, err := s.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	m := map[string]helper.Credentials{}
	for u := range list {
		c, err := s.Get(ctx, mustKey(t, u))
		if err != nil {
			t.Fatalf("Get(%q) of a listed entry: %v", u, err)
		}
		m[u] = c
	}
	return m
}

func TestHandleStoreGet(t *testing.T) {
	s := helpertest.NewMemStore()
	if _, err := handle(t, s, "store", storePayload("registry.example.com", "alice", "hunter2")); err != nil {
		t.Fatalf("store: %v", err)
	}
	tests := []struct {
		name, stdin, want string
	}{
		{"as stored", "registry.example.com", `{"ServerURL":"registry.example.com","Username":"alice","Secret":"hunter2"}` + "\n"},
		{"other spelling echoed", "https://Registry.example.com/", `{"ServerURL":"https://Registry.example.com/","Username":"alice","Secret":"hunter2"}` + "\n"},
		{"v2 root echoed", "https://registry.example.com/v2/", `{"ServerURL":"https://registry.example.com/v2/","Username":"alice","Secret":"hunter2"}` + "\n"},
		{"trailing newline trimmed", "registry.example.com\n", `{"ServerURL":"registry.example.com","Username":"alice","Secret":"hunter2"}` + "\n"},
		{"surrounding white space trimmed", " \t registry.example.com:443 \r\n", `{"ServerURL":"registry.example.com:443","Username":"alice","Secret":"hunter2"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := handle(t, s, "get", tt.stdin)
			if err != nil {
				t.Fatalf("get %q: %v", tt.stdin, err)
			}
			if got != tt.want {
				t.Errorf("get %q wrote\n%q\nwant\n%q", tt.stdin, got, tt.want)
			}
		})
	}
}

func TestHandleGetIdentityToken(t *testing.T) {
	s := helpertest.NewMemStore()
	if _, err := handle(t, s, "store", `{"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"rt&<>"}`); err != nil {
		t.Fatalf("store: %v", err)
	}
	got, err := handle(t, s, "get", "docker.io")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	// HTML escaping on, as the reference writes it.
	want := `{"ServerURL":"docker.io","Username":"\u003ctoken\u003e","Secret":"rt\u0026\u003c\u003e"}` + "\n"
	if got != want {
		t.Errorf("get wrote\n%q\nwant\n%q", got, want)
	}
}

func TestHandleGetNotFound(t *testing.T) {
	s := helpertest.NewMemStore()
	if _, err := handle(t, s, "store", storePayload("localhost:5000", "alice", "x")); err != nil {
		t.Fatalf("store: %v", err)
	}
	// crane asks for a repository-scoped key first and needs the exact
	// not-found reply to fall back to host:port.
	for _, u := range []string{"missing.example.com", "localhost:5000/ns/repo", "localhost:5001", "localhost", "https://index.docker.io/v1/access-token"} {
		t.Run(u, func(t *testing.T) {
			out, err := handle(t, s, "get", u)
			if !errors.Is(err, helper.ErrNotFound) {
				t.Fatalf("get %q = %q, %v; want ErrNotFound", u, out, err)
			}
			if got := helper.WireMessage(err); got != notFoundMessage {
				t.Errorf("WireMessage = %q, want %q", got, notFoundMessage)
			}
		})
	}
}

func TestHandleGetErrors(t *testing.T) {
	tests := []struct {
		name, stdin, wantErr string
	}{
		{"empty", "", "no credentials server URL"},
		{"white space", " \n\t\r\n", "no credentials server URL"},
		{"invalid server URL", "ftp://registry.example.com", `unsupported scheme "ftp"`},
		{"user info", "user:pw@registry.example.com", "must not contain a user name or password"},
		{"two lines", "registry.example.com\nother.example.com", "white space or control character U+000A"},
		{"NUL", "registry.example.com\x00", "stdin contains a NUL byte"},
		{"invalid UTF-8", "registry.example.com\xff", "stdin is not valid UTF-8"},
		{"too large", strings.Repeat(" ", helper.MaxPayload+1), "stdin is larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, action := range []string{"get", "erase"} {
				s := helpertest.NewMemStore()
				if _, err := handle(t, s, "store", storePayload("registry.example.com", "alice", "x")); err != nil {
					t.Fatalf("store: %v", err)
				}
				before := snapshot(t, s)
				out, err := handle(t, s, action, tt.stdin)
				if err == nil {
					t.Fatalf("%s %.40q = %q, want an error containing %q", action, tt.stdin, out, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("%s %.40q error = %q, want it to contain %q", action, tt.stdin, err, tt.wantErr)
				}
				if helper.WireMessage(err) == notFoundMessage {
					t.Errorf("%s %.40q error %q is reported as not-found", action, tt.stdin, err)
				}
				if after := snapshot(t, s); !maps.Equal(before, after) {
					t.Errorf("%s %.40q changed the store from %v to %v", action, tt.stdin, before, after)
				}
			}
		})
	}
}

func TestHandleMissingServerURLIsTheProtocolError(t *testing.T) {
	for _, action := range []string{"get", "erase"} {
		_, err := handle(t, helpertest.NewMemStore(), action, "\n")
		if !errors.Is(err, helper.ErrMissingServerURL) {
			t.Errorf("%s of an empty server URL: %v, want ErrMissingServerURL", action, err)
		}
		if got, want := helper.WireMessage(err), "no credentials server URL"; got != want {
			t.Errorf("%s of an empty server URL: WireMessage = %q, want %q", action, got, want)
		}
	}
}

// TestHandleBackendFailure checks that a failing backend is never reported
// as not-found, which clients would take for "pull anonymously".
func TestHandleBackendFailure(t *testing.T) {
	backendErr := errors.New("failed to unlock the keychain: locked")
	for _, tt := range []struct{ action, stdin string }{
		{"get", "registry.example.com"},
		{"erase", "registry.example.com"},
		{"store", storePayload("registry.example.com", "alice", "x")},
		{"list", "unused"},
	} {
		t.Run(tt.action, func(t *testing.T) {
			s := helpertest.NewMemStore()
			s.Err = backendErr
			out, err := handle(t, s, tt.action, tt.stdin)
			if !errors.Is(err, backendErr) {
				t.Fatalf("%s = %q, %v; want the backend's error", tt.action, out, err)
			}
			if got := helper.WireMessage(err); got != backendErr.Error() {
				t.Errorf("WireMessage = %q, want %q", got, backendErr.Error())
			}
		})
	}
}

func TestHandleList(t *testing.T) {
	s := helpertest.NewMemStore()
	got, err := handle(t, s, "list", "unused")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if got != "{}\n" {
		t.Errorf("list of an empty store wrote %q, want %q", got, "{}\n")
	}

	for _, c := range []struct{ u, user string }{
		{"https://Registry.Example.com/", "alice"},
		{"https://index.docker.io/v1/", "<token>"},
		{"https://index.docker.io/v1/access-token", "bob"},
		{"localhost:5000/ns/repo", "carol"},
	} {
		if _, err := handle(t, s, "store", storePayload(c.u, c.user, "secret-"+c.user)); err != nil {
			t.Fatalf("store %q: %v", c.u, err)
		}
	}
	got, err = handle(t, s, "list", "")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	want := `{"https://Registry.Example.com/":"alice","https://index.docker.io/v1/":"\u003ctoken\u003e","https://index.docker.io/v1/access-token":"bob","localhost:5000/ns/repo":"carol"}` + "\n"
	if got != want {
		t.Errorf("list wrote\n%q\nwant\n%q", got, want)
	}
	if strings.Contains(got, "secret-") {
		t.Errorf("list wrote a secret: %q", got)
	}

	// Storing under another spelling replaces the entry, and list shows the
	// new spelling.
	if _, err := handle(t, s, "store", storePayload("registry.example.com:443", "dave", "x")); err != nil {
		t.Fatalf("store: %v", err)
	}
	got, err = handle(t, s, "list", "")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatalf("list wrote %q: %v", got, err)
	}
	if len(m) != 4 || m["registry.example.com:443"] != "dave" || m["https://Registry.Example.com/"] != "" {
		t.Errorf("after storing another spelling, list = %v", m)
	}
}

func TestHandleListIgnoresStdin(t *testing.T) {
	s := helpertest.NewMemStore()
	var out bytes.Buffer
	if err := helper.Handle(context.Background(), s, "list", iotest.ErrReader(errors.New("boom")), &out); err != nil {
		t.Fatalf("list with an unreadable stdin: %v", err)
	}
	if out.String() != "{}\n" {
		t.Errorf("list wrote %q, want %q", out.String(), "{}\n")
	}
}

// nilListStore is a store whose List returns a nil map.
type nilListStore struct{ helper.Store }

func (nilListStore) List(context.Context) (map[string]string, error) { return nil, nil }

func TestHandleListNil(t *testing.T) {
	got, err := handle(t, nilListStore{helpertest.NewMemStore()}, "list", "")
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if got != "{}\n" {
		t.Errorf("list of a nil map wrote %q, want %q", got, "{}\n")
	}
}

func TestHandleErase(t *testing.T) {
	s := helpertest.NewMemStore()
	for _, u := range []string{"registry.example.com", "other.example.com"} {
		if _, err := handle(t, s, "store", storePayload(u, "alice", "pw")); err != nil {
			t.Fatalf("store: %v", err)
		}
	}
	// docker logout erases https://HOST, http://HOST and HOST.
	if _, err := handle(t, s, "erase", "https://registry.example.com\n"); err != nil {
		t.Fatalf("erase: %v", err)
	}
	for _, u := range []string{"http://registry.example.com", "registry.example.com"} {
		_, err := handle(t, s, "erase", u)
		if !errors.Is(err, helper.ErrNotFound) || helper.WireMessage(err) != notFoundMessage {
			t.Errorf("second erase %q: %v, want ErrNotFound", u, err)
		}
		out, err := handle(t, s, "get", u)
		if !errors.Is(err, helper.ErrNotFound) {
			t.Errorf("get %q after erase = %q, %v; want ErrNotFound", u, out, err)
		}
		if got := helper.WireMessage(err); got != notFoundMessage {
			t.Errorf("get %q after erase: WireMessage = %q, want %q", u, got, notFoundMessage)
		}
	}
	if out, err := handle(t, s, "get", "other.example.com"); err != nil || !strings.Contains(out, `"Secret":"pw"`) {
		t.Errorf("get of the other entry after erase = %q, %v", out, err)
	}
	if out, _ := handle(t, s, "list", ""); out != `{"other.example.com":"alice"}`+"\n" {
		t.Errorf("list after erase = %q", out)
	}
}

func TestHandleUnknownAction(t *testing.T) {
	// version is the caller's: only it knows the program's version.
	for _, action := range []string{"frobnicate", "", "GET", "version", "--version"} {
		t.Run(action, func(t *testing.T) {
			s := helpertest.NewMemStore()
			_, err := handle(t, s, action, storePayload("registry.example.com", "alice", "x"))
			if err == nil {
				t.Fatalf("Handle(%q) succeeded", action)
			}
			if want := "unknown action: " + action; err.Error() != want {
				t.Errorf("Handle(%q) error = %q, want %q", action, err, want)
			}
			if m, _ := s.List(context.Background()); len(m) != 0 {
				t.Errorf("Handle(%q) changed the store: %v", action, m)
			}
		})
	}
}

func TestIsAction(t *testing.T) {
	for _, a := range []string{"store", "get", "erase", "list", "version"} {
		if !helper.IsAction(a) {
			t.Errorf("IsAction(%q) = false", a)
		}
	}
	for _, a := range []string{"", "Store", "GET", "-v", "--version", "help", "delete"} {
		if helper.IsAction(a) {
			t.Errorf("IsAction(%q) = true", a)
		}
	}
}

func TestHandleStoreAccepts(t *testing.T) {
	tests := []struct {
		name, stdin string
		want        helper.Credentials
		getURL      string
	}{
		{"canonical", `{"ServerURL":"registry.example.com","Username":"alice","Secret":"pw"}`,
			helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "pw"}, "registry.example.com"},
		{"field names in any case", `{"serverurl":"registry.example.com","USERNAME":"alice","secret":"pw"}`,
			helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "pw"}, "registry.example.com"},
		{"unknown fields ignored", `{"ServerURL":"registry.example.com","Username":"alice","Secret":"pw","Email":"a@example.com","Extra":{"x":[1,2]}}`,
			helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "pw"}, "registry.example.com"},
		{"empty secret", `{"ServerURL":"registry.example.com","Username":"alice","Secret":""}`,
			helper.Credentials{ServerURL: "registry.example.com", Username: "alice"}, "registry.example.com"},
		{"no secret", `{"ServerURL":"registry.example.com","Username":"alice"}`,
			helper.Credentials{ServerURL: "registry.example.com", Username: "alice"}, "registry.example.com"},
		{"null secret", `{"ServerURL":"registry.example.com","Username":"alice","Secret":null}`,
			helper.Credentials{ServerURL: "registry.example.com", Username: "alice"}, "registry.example.com"},
		{"white space around", " \r\n\t{\"ServerURL\":\"registry.example.com\",\"Username\":\"alice\",\"Secret\":\"pw\"}\n\n ",
			helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "pw"}, "registry.example.com"},
		{"pretty-printed", "{\n  \"ServerURL\": \"registry.example.com\",\n  \"Username\": \"alice\",\n  \"Secret\": \"pw\"\n}\n",
			helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "pw"}, "registry.example.com"},
		{"server URL kept as sent", `{"ServerURL":"https://Index.Docker.io/v1/","Username":"<token>","Secret":"rt"}`,
			helper.Credentials{ServerURL: "https://Index.Docker.io/v1/", Username: "<token>", Secret: "rt"}, "docker.io"},
		{"escaped characters", `{"ServerURL":"registry.example.com","Username":"\u00e4lice","Secret":"a\nb\u0000c\"\\"}`,
			helper.Credentials{ServerURL: "registry.example.com", Username: "älice", Secret: "a\nb\x00c\"\\"}, "registry.example.com"},
		{"lone surrogate replaced", `{"ServerURL":"registry.example.com","Username":"alice","Secret":"\ud800"}`,
			helper.Credentials{ServerURL: "registry.example.com", Username: "alice", Secret: "\ufffd"}, "registry.example.com"},
		{"last duplicate wins", `{"ServerURL":"registry.example.com","Username":"alice","username":"bob","Secret":"pw"}`,
			helper.Credentials{ServerURL: "registry.example.com", Username: "bob", Secret: "pw"}, "registry.example.com"},
		{"200 KiB secret", storePayload("registry.example.com", "<token>", strings.Repeat("t", 200<<10)),
			helper.Credentials{ServerURL: "registry.example.com", Username: "<token>", Secret: strings.Repeat("t", 200<<10)}, "registry.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := helpertest.NewMemStore()
			if _, err := handle(t, s, "store", tt.stdin); err != nil {
				t.Fatalf("store: %v", err)
			}
			got, err := s.Get(context.Background(), mustKey(t, tt.getURL))
			if err != nil {
				t.Fatalf("Get(%q) after store: %v", tt.getURL, err)
			}
			if got != tt.want {
				t.Errorf("stored %v (secret of %d bytes), want %v (secret of %d bytes)", got, len(got.Secret), tt.want, len(tt.want.Secret))
			}
		})
	}
}

// TestHandleStoreLargerThanReference checks that a store payload over the
// reference implementation's 64 KiB line limit works.
func TestHandleStoreLargerThanReference(t *testing.T) {
	secret := strings.Repeat("0123456789abcdef", 200<<10/16)
	payload := storePayload("registry.example.com", "<token>", secret)
	if _, err := reference(t, helpertest.NewMemStore(), "store", payload); err != nil {
		t.Logf("as expected, the reference fails on a %d-byte payload: %v", len(payload), err)
	}
	s := helpertest.NewMemStore()
	if _, err := handle(t, s, "store", payload); err != nil {
		t.Fatalf("store of a %d-byte payload: %v", len(payload), err)
	}
	out, err := handle(t, s, "get", "registry.example.com")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	var c credentials.Credentials
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("get wrote %d bytes that do not decode: %v", len(out), err)
	}
	if c.Secret != secret || c.Username != "<token>" {
		t.Errorf("get returned username %q and a secret of %d bytes, want <token> and the %d-byte secret", c.Username, len(c.Secret), len(secret))
	}
}

// payloadOfSize returns a valid store payload of exactly n bytes.
func payloadOfSize(n int) string {
	p := storePayload("registry.example.com", "alice", "")
	return storePayload("registry.example.com", "alice", strings.Repeat("s", n-len(p)))
}

func TestHandleStoreMaxPayload(t *testing.T) {
	p := payloadOfSize(helper.MaxPayload)
	if len(p) != helper.MaxPayload {
		t.Fatalf("payloadOfSize made %d bytes, want %d", len(p), helper.MaxPayload)
	}
	s := helpertest.NewMemStore()
	if _, err := handle(t, s, "store", p); err != nil {
		t.Fatalf("store of exactly MaxPayload bytes: %v", err)
	}
	c, err := s.Get(context.Background(), mustKey(t, "registry.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if want := helper.MaxPayload - len(storePayload("registry.example.com", "alice", "")); len(c.Secret) != want {
		t.Errorf("stored a secret of %d bytes, want %d", len(c.Secret), want)
	}
}

func TestHandleStoreRejects(t *testing.T) {
	// marker is in every payload's Secret: no error may quote it.
	const marker = "s3cr3t-MARKER"
	tests := []struct {
		name, stdin string
		wantErr     string
		exact       bool
	}{
		{"empty", "", "invalid input: stdin is empty", false},
		{"white space", " \n\t\r\n ", "invalid input: stdin is empty", false},
		{"malformed", `{"ServerURL":"registry.example.com","Username":"alice","Secret":"` + marker + `",}`, "invalid input: malformed JSON at byte", false},
		{"malformed key", `{ServerURL:"registry.example.com"}`, "invalid input: malformed JSON at byte 2", false},
		{"not JSON", marker, "invalid input: malformed JSON at byte 1", false},
		{"truncated", `{"ServerURL":"registry.example.com","Username":"alice","Secret":"` + marker, "invalid input: truncated JSON", false},
		{"truncated object", `{"ServerURL":"registry.example.com"`, "invalid input: truncated JSON", false},
		{"only a brace", `{`, "invalid input: truncated JSON", false},
		{"array", `[{"ServerURL":"registry.example.com","Username":"alice","Secret":"` + marker + `"}]`, "invalid input: expected a JSON object with ServerURL, Username and Secret, got a JSON array", false},
		{"string", `"` + marker + `"`, "invalid input: expected a JSON object with ServerURL, Username and Secret, got a JSON string", false},
		{"number", `42`, "invalid input: expected a JSON object with ServerURL, Username and Secret, got a JSON number", false},
		{"bool", `true`, "invalid input: expected a JSON object with ServerURL, Username and Secret, got a JSON bool", false},
		// null decodes to no fields at all, as in the reference.
		{"null", `null`, "no credentials server URL", true},
		{"secret number", `{"ServerURL":"registry.example.com","Username":"alice","Secret":5}`, "invalid input: field Secret must be a JSON string, got a JSON number", true},
		{"username bool", `{"ServerURL":"registry.example.com","Username":true,"Secret":"` + marker + `"}`, "invalid input: field Username must be a JSON string, got a JSON bool", true},
		{"server URL object", `{"ServerURL":{},"Username":"alice","Secret":"` + marker + `"}`, "invalid input: field ServerURL must be a JSON string, got a JSON object", true},
		{"server URL array", `{"serverurl":["registry.example.com"],"Username":"alice","Secret":"` + marker + `"}`, "invalid input: field ServerURL must be a JSON string, got a JSON array", true},
		{"missing server URL", `{"Username":"alice","Secret":"` + marker + `"}`, "no credentials server URL", true},
		{"empty server URL", `{"ServerURL":"","Username":"alice","Secret":"` + marker + `"}`, "no credentials server URL", true},
		{"null server URL", `{"ServerURL":null,"Username":"alice","Secret":"` + marker + `"}`, "no credentials server URL", true},
		{"missing username", `{"ServerURL":"registry.example.com","Secret":"` + marker + `"}`, "no credentials username", true},
		{"empty username", `{"ServerURL":"registry.example.com","Username":"","Secret":"` + marker + `"}`, "no credentials username", true},
		{"empty object", `{}`, "no credentials server URL", true},
		{"raw NUL", "{\"ServerURL\":\"registry.example.com\",\"Username\":\"alice\",\"Secret\":\"a\x00" + marker + "\"}", "invalid input: stdin contains a NUL byte", true},
		{"trailing NUL", storePayload("registry.example.com", "alice", marker) + "\x00", "invalid input: stdin contains a NUL byte", true},
		{"invalid UTF-8", "{\"ServerURL\":\"registry.example.com\",\"Username\":\"alice\",\"Secret\":\"\xff" + marker + "\"}", "invalid input: stdin is not valid UTF-8", true},
		{"one byte over", payloadOfSize(helper.MaxPayload + 1), "invalid input: stdin is larger than 1048576 bytes", true},
		{"2 MiB", payloadOfSize(2 << 20), "invalid input: stdin is larger than 1048576 bytes", true},
		{"trailing garbage", storePayload("registry.example.com", "alice", marker) + " x", "invalid input: unexpected data after the JSON object", true},
		{"two objects", storePayload("registry.example.com", "alice", marker) + storePayload("other.example.com", "bob", marker), "invalid input: unexpected data after the JSON object", true},
		{"trailing bracket", storePayload("registry.example.com", "alice", marker) + "]", "invalid input: unexpected data after the JSON object", true},
		{"control character in username", `{"ServerURL":"registry.example.com","Username":"al\u0007ice","Secret":"` + marker + `"}`, "invalid input: Username contains a control character", true},
		{"newline in username", `{"ServerURL":"registry.example.com","Username":"alice\n","Secret":"` + marker + `"}`, "invalid input: Username contains a control character", true},
		{"DEL in username", `{"ServerURL":"registry.example.com","Username":"alice\u007f","Secret":"` + marker + `"}`, "invalid input: Username contains a control character", true},
		{"raw tab in username", "{\"ServerURL\":\"registry.example.com\",\"Username\":\"al\tice\",\"Secret\":\"" + marker + "\"}", "invalid input: malformed JSON", false},
		{"invalid server URL", storePayload("ftp://registry.example.com", "alice", marker), `invalid server URL: unsupported scheme "ftp"`, false},
		{"server URL with password", storePayload("https://alice:pw@registry.example.com", "alice", marker), "invalid server URL: must not contain a user name or password", true},
		{"server URL with white space", storePayload(" registry.example.com", "alice", marker), "invalid server URL: contains white space or control character U+0020", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := helpertest.NewMemStore()
			if _, err := handle(t, s, "store", storePayload("registry.example.com", "old-user", "old-secret")); err != nil {
				t.Fatalf("store: %v", err)
			}
			before := snapshot(t, s)
			_, err := handle(t, s, "store", tt.stdin)
			if err == nil {
				t.Fatalf("store %.60q succeeded, want an error containing %q", tt.stdin, tt.wantErr)
			}
			if tt.exact && err.Error() != tt.wantErr {
				t.Errorf("store %.60q error = %q, want %q", tt.stdin, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("store %.60q error = %q, want it to contain %q", tt.stdin, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), marker) || strings.Contains(helper.WireMessage(err), marker) {
				t.Errorf("store %.60q error quotes the secret: %q", tt.stdin, err)
			}
			if helper.WireMessage(err) == notFoundMessage {
				t.Errorf("store %.60q error %q is reported as not-found", tt.stdin, err)
			}
			if after := snapshot(t, s); !maps.Equal(before, after) {
				t.Errorf("store %.60q changed the store from %v to %v", tt.stdin, before, after)
			}
		})
	}
}

func TestHandleStoreProtocolErrorsMatchReference(t *testing.T) {
	for _, stdin := range []string{
		`{"Username":"alice","Secret":"x"}`,
		`{"ServerURL":"registry.example.com","Secret":"x"}`,
		`{"ServerURL":"","Username":""}`,
		`null`,
	} {
		t.Run(stdin, func(t *testing.T) {
			_, ours := handle(t, helpertest.NewMemStore(), "store", stdin)
			_, ref := reference(t, helpertest.NewMemStore(), "store", stdin)
			if ours == nil || ref == nil {
				t.Fatalf("store %q: ours %v, reference %v; want both to fail", stdin, ours, ref)
			}
			if helper.WireMessage(ours) != ref.Error() {
				t.Errorf("store %q: ours writes %q, the reference %q", stdin, helper.WireMessage(ours), ref.Error())
			}
		})
	}
}

func TestHandleReadError(t *testing.T) {
	for _, action := range []string{"store", "get", "erase"} {
		err := helper.Handle(context.Background(), helpertest.NewMemStore(), action, iotest.ErrReader(errors.New("broken pipe")), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "failed to read stdin: broken pipe") {
			t.Errorf("%s with an unreadable stdin: %v, want %q", action, err, "failed to read stdin: broken pipe")
		}
	}
}

func TestHandleNilStdin(t *testing.T) {
	s := helpertest.NewMemStore()
	for action, want := range map[string]string{
		"get":   "no credentials server URL",
		"erase": "no credentials server URL",
		"store": "invalid input: stdin is empty",
	} {
		err := helper.Handle(context.Background(), s, action, nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s with a nil stdin: %v, want %q", action, err, want)
		}
	}
}

// compatSecrets are secrets whose JSON encoding is easy to get wrong; each
// is compared byte for byte with the reference's get.
var compatSecrets = map[string]string{
	"plain":         "hunter2",
	"empty":         "",
	"html":          `<script>&amp;</script>`,
	"quotes":        `"double" 'single' \back\slash`,
	"unicode":       "pässwörd-密码-🔑",
	"line breaks":   "a\nb\r\nc\u2028d\u2029e",
	"controls":      "\x01\x07\t\x1b[0m\x7f",
	"replacement":   "\ufffd",
	"json":          `{"ServerURL":"x","Username":"y"}`,
	"60 KiB":        strings.Repeat("abcdefghijklmnop", 60<<10/16),
	"70,000 bytes":  strings.Repeat("x<&>", 70000/4),
	"looks like an": "credentials not found in native keychain",
}

var compatUsernames = []string{"alice", "<token>", "a&b", `quo"te`, "ünïcødé", "user@example.com", "oauth2accesstoken", "00000000-0000-0000-0000-000000000000"}

// TestHandleMatchesReference runs get and list through helper.Handle and
// through the reference HandleCommand over identical stores and compares
// the bytes written to stdout.
func TestHandleMatchesReference(t *testing.T) {
	ours, ref := helpertest.NewMemStore(), helpertest.NewMemStore()
	type entry struct{ serverURL, getURL, username, secret string }
	var entries []entry
	i := 0
	for _, secret := range compatSecrets {
		for _, user := range compatUsernames {
			i++
			u := fmt.Sprintf("https://R%d.example.com/", i)
			entries = append(entries, entry{u, fmt.Sprintf("r%d.example.com:443\n", i), user, secret})
		}
	}
	entries = append(entries,
		entry{"https://index.docker.io/v1/", "docker.io", "<token>", "refresh"},
		entry{"https://index.docker.io/v1/access-token", "https://index.docker.io/v1/access-token", "alice", "access"},
		entry{"localhost:5000/ns/repo", "  localhost:5000/ns/repo/  ", "bob", "repo<secret>"},
		entry{"[::1]:5000", "http://[::1]:5000/v2/", "carol", "v6"},
	)
	for _, e := range entries {
		payload := storePayload(e.serverURL, e.username, e.secret)
		if _, err := handle(t, ours, "store", payload); err != nil {
			t.Fatalf("store %q: %v", e.serverURL, err)
		}
		if len(payload) < 64<<10 {
			if _, err := reference(t, ref, "store", payload); err != nil {
				t.Fatalf("reference store %q: %v", e.serverURL, err)
			}
		} else if err := (refHelper{ref}).Add(&credentials.Credentials{ServerURL: e.serverURL, Username: e.username, Secret: e.secret}); err != nil {
			t.Fatal(err)
		}
	}

	for _, e := range entries {
		for _, stdin := range []string{e.serverURL, e.getURL} {
			gotOurs, errOurs := handle(t, ours, "get", stdin)
			gotRef, errRef := reference(t, ref, "get", stdin)
			if errOurs != nil || errRef != nil {
				t.Fatalf("get %q: ours %v, reference %v", stdin, errOurs, errRef)
			}
			if gotOurs != gotRef {
				t.Errorf("get %q (username %q, secret of %d bytes): ours wrote\n%.200q\nthe reference\n%.200q", stdin, e.username, len(e.secret), gotOurs, gotRef)
			}
		}
	}

	gotOurs, errOurs := handle(t, ours, "list", "unused")
	gotRef, errRef := reference(t, ref, "list", "unused")
	if errOurs != nil || errRef != nil {
		t.Fatalf("list: ours %v, reference %v", errOurs, errRef)
	}
	if gotOurs != gotRef {
		t.Errorf("list: ours wrote\n%q\nthe reference\n%q", gotOurs, gotRef)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(gotOurs), &m); err != nil || len(m) != len(entries) {
		t.Errorf("list wrote %d entries (%v), want %d", len(m), err, len(entries))
	}

	// Not-found and a missing server URL read the same on the wire.
	for _, stdin := range []string{"missing.example.com", "r1.example.com/ns/repo", "", " \n"} {
		for _, action := range []string{"get", "erase"} {
			_, errOurs := handle(t, ours, action, stdin)
			_, errRef := reference(t, ref, action, stdin)
			if errOurs == nil || errRef == nil {
				t.Fatalf("%s %q: ours %v, reference %v; want both to fail", action, stdin, errOurs, errRef)
			}
			if helper.WireMessage(errOurs) != errRef.Error() {
				t.Errorf("%s %q: ours writes %q, the reference %q", action, stdin, helper.WireMessage(errOurs), errRef.Error())
			}
		}
	}

	// An empty store lists as {} in both.
	gotOurs, _ = handle(t, helpertest.NewMemStore(), "list", "")
	gotRef, _ = reference(t, helpertest.NewMemStore(), "list", "")
	if gotOurs != gotRef || gotOurs != "{}\n" {
		t.Errorf("empty list: ours %q, reference %q, want %q", gotOurs, gotRef, "{}\n")
	}
}
