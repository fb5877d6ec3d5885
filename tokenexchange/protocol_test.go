package tokenexchange_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// TestProtocol drives the whole path as docker does, through helper.Handle
// (the layer the CLI's protocol actions call), against the real provider:
// log in, get, the store that `docker login` does after a get, list, a
// registry that is not configured, erase.
func TestProtocol(t *testing.T) {
	f := newFixture(t, false)
	s := f.store(t)
	f.login(t, s)
	rt := f.refreshToken(t)
	ctx := context.Background()

	run := func(action, in string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		err := helper.Handle(ctx, s, action, strings.NewReader(in), &out)
		return out.String(), err
	}
	mustRun := func(action, in string) string {
		t.Helper()
		out, err := run(action, in)
		if err != nil {
			t.Fatalf("%s %q: %v", action, in, err)
		}
		if strings.Contains(out, rt) {
			t.Fatalf("%s printed the refresh token", action)
		}
		return out
	}

	var got struct{ ServerURL, Username, Secret string }
	for _, spelling := range []string{registryURL, "https://" + registryURL + "/v2/", "REGISTRY.example.com:443"} {
		if err := json.Unmarshal([]byte(mustRun(helper.ActionGet, spelling)), &got); err != nil {
			t.Fatal(err)
		}
		if got.ServerURL != spelling || got.Username != "oauth2accesstoken" || got.Secret == "" {
			t.Fatalf("get %q = %+v", spelling, got)
		}
	}

	// docker login stores what it got: a no-op.
	payload, _ := json.Marshal(map[string]string{"ServerURL": registryURL, "Username": got.Username, "Secret": got.Secret})
	mustRun(helper.ActionStore, string(payload))
	if f.refreshToken(t) != rt {
		t.Fatal("store of the handed-out access token replaced the refresh token")
	}

	// An unconfigured registry passes through untouched.
	mustRun(helper.ActionStore, `{"ServerURL":"other.example.com","Username":"<token>","Secret":"other-identity-token"}`)
	if out := mustRun(helper.ActionGet, "other.example.com"); out != `{"ServerURL":"other.example.com","Username":"\u003ctoken\u003e","Secret":"other-identity-token"}`+"\n" {
		t.Fatalf("get of an unconfigured registry = %q", out)
	}

	if out := mustRun(helper.ActionList, "unused"); out != `{"other.example.com":"\u003ctoken\u003e","registry.example.com":"oauth2accesstoken"}`+"\n" {
		t.Fatalf("list = %q", out)
	}

	mustRun(helper.ActionErase, "https://"+registryURL)
	_, err := run(helper.ActionGet, registryURL)
	if !errors.Is(err, helper.ErrNotFound) || helper.WireMessage(err) != "credentials not found in native keychain" {
		t.Fatalf("get after erase: %v, want not-found", err)
	}
	if out := mustRun(helper.ActionList, "unused"); out != `{"other.example.com":"\u003ctoken\u003e"}`+"\n" {
		t.Fatalf("list after erase = %q", out)
	}
}
