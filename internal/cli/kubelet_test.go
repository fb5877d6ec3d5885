package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
	"github.com/notaryproject/docker-credential-notation/internal/config"
)

func kubeletRequest(image string) string {
	return `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"` + image + `"}`
}

func runKubelet(t *testing.T, store helper.Store, stdin string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{config.EnvStoreDir: filepath.Join(dir, "store"), "HOME": dir, "XDG_CONFIG_HOME": filepath.Join(dir, "config")}
	var out, errb bytes.Buffer
	env := &Env{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out, Stderr: &errb,
		Getenv:  func(k string) string { return all[k] },
		Version: "v0.0.0-test",
		OpenStore: func(_ context.Context, _ *config.Config, e *Env) (*Opened, error) {
			if e.Prompt != nil {
				t.Error("kubelet-provider opened the store with a prompt")
			}
			return &Opened{Store: store}, nil
		},
		Prompt: func(string) (string, error) { t.Error("kubelet-provider prompted"); return "", nil },
	}
	code := Run(context.Background(), []string{Name, "kubelet-provider"}, env)
	return code, out.String(), errb.String()
}

// TestKubeletProviderLongestPrefix: the longest stored prefix of the image
// answers, keyed as the image spells it, with Image caching for a path and
// Registry caching for a host; nothing stored answers an empty auth.
func TestKubeletProviderLongestPrefix(t *testing.T) {
	mem := helpertest.NewMemStore()
	putCred(t, mem, "reg.example.com", "host-user", "host-pw")
	putCred(t, mem, "reg.example.com/team-a", "team-a-user", "team-a-pw")
	putCred(t, mem, "reg.example.com/team-b/app", "app-user", "app-pw")
	putCred(t, mem, "other.example.com", helper.IdentityTokenUsername, "refresh")
	putCred(t, mem, "plain.example.com", "plain-user", "plain-pw")
	for _, tc := range []struct {
		image, key, user, cacheKeyType, duration string
	}{
		{"reg.example.com/team-a/app", "reg.example.com/team-a", "team-a-user", "Image", ""},
		{"reg.example.com/team-b/app", "reg.example.com/team-b/app", "app-user", "Image", ""},
		// The host answers, cached per image: reg.example.com has
		// repository-scoped entries that a registry-wide entry would hide.
		{"reg.example.com/team-b/other", "reg.example.com", "host-user", "Image", ""},
		{"reg.example.com/app", "reg.example.com", "host-user", "Image", ""},
		{"plain.example.com/app", "plain.example.com", "plain-user", "Registry", ""},
		{"unknown.example.com/app", "", "", "Registry", "0s"},
	} {
		code, out, errOut := runKubelet(t, mem, kubeletRequest(tc.image))
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", tc.image, code, errOut)
		}
		var resp struct {
			Kind, APIVersion, CacheKeyType, CacheDuration string
			Auth                                          map[string]struct{ Username, Password string }
		}
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("%s: %v\n%s", tc.image, err, out)
		}
		if resp.Kind != "CredentialProviderResponse" || resp.APIVersion != "credentialprovider.kubelet.k8s.io/v1" || resp.CacheKeyType != tc.cacheKeyType || resp.CacheDuration != tc.duration {
			t.Errorf("%s: %s", tc.image, out)
		}
		if tc.key == "" {
			if len(resp.Auth) != 0 {
				t.Errorf("%s: auth %v, want none", tc.image, resp.Auth)
			}
			continue
		}
		if len(resp.Auth) != 1 || resp.Auth[tc.key].Username != tc.user {
			t.Errorf("%s: auth %v, want %s for %s", tc.image, resp.Auth, tc.user, tc.key)
		}
	}
}

func TestKubeletProviderRefuses(t *testing.T) {
	mem := helpertest.NewMemStore()
	putCred(t, mem, "other.example.com", helper.IdentityTokenUsername, "refresh")
	for _, tc := range []struct{ name, in, want string }{
		{"malformed", `{"kind":`, "not a CredentialProviderRequest"},
		{"another kind", `{"kind":"Pod","apiVersion":"v1","image":"a/b"}`, `kind "Pod"`},
		{"unknown version", `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v9","image":"a/b"}`, "is not supported"},
		{"empty image", `{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":""}`, "no image"},
		{"identity token", kubeletRequest("other.example.com/app"), "kubelet cannot use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runKubelet(t, mem, tc.in)
			if code != 1 || out != "" || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, nothing on stdout, %q on stderr", code, out, errOut, tc.want)
			}
		})
	}
}
