// Package kubeletplugin runs the built helper through kubelet's own code,
// k8s.io/kubernetes/pkg/credentialprovider/plugin: the exact exec path
// kubelet takes (config validation, matchImages, env, argv, the apiVersion
// check, caching), for a host, a path-scoped key, an unknown registry and a
// pod's service-account token. No kubelet process or container runtime is
// needed: the package is what kubelet calls to get image credentials.
package kubeletplugin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/pkg/credentialprovider/plugin"
)

// saToken is the service-account token kubelet hands the provider: a
// JWT-shaped value, exchanged at the test's token endpoint.
const saToken = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2s4cy5leGFtcGxlIiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OmFwcHM6cHVsbGVyIiwiYXVkIjoic3RzIn0.c2lnbmF0dXJl"

func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "docker-credential-notation")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("failed to build the helper: %v\n%s", err, out)
	}
	return bin
}

func TestKubeletRunsTheProvider(t *testing.T) {
	root := t.TempDir()
	binDir := filepath.Join(root, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := build(t, binDir)
	// kubelet runs one mode per provider entry: a second name for the
	// same binary serves the service-account entry.
	if err := os.Symlink(bin, filepath.Join(binDir, "docker-credential-notation-sa")); err != nil {
		t.Fatal(err)
	}
	storeDir := filepath.Join(root, "store")
	home := filepath.Join(root, "home")
	env := []string{"HOME=" + home, "DOCKER_CREDENTIAL_NOTATION_BACKEND=file", "DOCKER_CREDENTIAL_NOTATION_STORE_DIR=" + storeDir,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(root, "no-bus"), "PATH=" + os.Getenv("PATH")}
	for _, c := range []string{
		`{"ServerURL":"reg.example.com","Username":"node","Secret":"node-pw"}`,
		`{"ServerURL":"reg.example.com/team-a","Username":"team-a","Secret":"team-a-pw"}`,
	} {
		cmd := exec.Command(bin, "store")
		cmd.Env, cmd.Stdin = env, strings.NewReader(c)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("store: %v %s", err, out)
		}
	}

	// The token endpoint of the service-account registry: it accepts only
	// the token kubelet handed out, as the subject of a token exchange.
	var exchanges atomic.Int64
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange" || r.PostForm.Get("subject_token") != saToken {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		exchanges.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "registry-token-for-puller", "token_type": "Bearer", "expires_in": 600})
	}))
	t.Cleanup(sts.Close)
	exchangeCfg := filepath.Join(root, "exchange.json")
	b, _ := json.Marshal(map[string]any{"registries": map[string]any{"*.ci.example": map[string]any{
		"tokenURL": sts.URL + "/token", "subjectToken": map[string]any{"kubernetesServiceAccount": map[string]any{}}}}})
	if err := os.WriteFile(exchangeCfg, b, 0o600); err != nil {
		t.Fatal(err)
	}

	envYAML := func(extra ...string) string {
		var out bytes.Buffer
		for _, kv := range append(env, extra...) {
			k, v, _ := strings.Cut(kv, "=")
			out.WriteString("      - {name: " + k + ", value: \"" + v + "\"}\n")
		}
		return out.String()
	}
	config := `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: docker-credential-notation
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    args: ["kubelet-provider"]
    matchImages: ["reg.example.com", "unknown.example.com"]
    defaultCacheDuration: "1m"
    env:
` + envYAML() + `  - name: docker-credential-notation-sa
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    args: ["kubelet-provider"]
    matchImages: ["*.ci.example"]
    defaultCacheDuration: "1m"
    tokenAttributes:
      serviceAccountTokenAudience: sts
      cacheType: ServiceAccount
      requireServiceAccount: true
    env:
` + envYAML("DOCKER_CREDENTIAL_NOTATION_CONFIG="+exchangeCfg, "DOCKER_CREDENTIAL_NOTATION_STORE_DIR="+filepath.Join(root, "sa-store"))
	configPath := filepath.Join(root, "credential-provider-config.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	var tokenRequests atomic.Int64
	getToken := func(namespace, name string, tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
		tokenRequests.Add(1)
		if namespace != "apps" || name != "puller" || len(tr.Spec.Audiences) != 1 || tr.Spec.Audiences[0] != "sts" {
			t.Errorf("kubelet asked for a token of %s/%s for %v", namespace, name, tr.Spec.Audiences)
		}
		out := tr.DeepCopy()
		out.Status = authenticationv1.TokenRequestStatus{Token: saToken, ExpirationTimestamp: metav1.NewTime(time.Now().Add(time.Hour))}
		return out, nil
	}
	getSA := func(namespace, name string) (*corev1.ServiceAccount, error) {
		return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: "sa-uid"}}, nil
	}
	if err := plugin.RegisterCredentialProviderPlugins(configPath, binDir, getToken, getSA); err != nil {
		t.Fatalf("kubelet refused the provider configuration: %v", err)
	}

	keyring := plugin.NewExternalCredentialProviderDockerKeyring("apps", "web-0", "pod-uid", "puller")
	for _, tc := range []struct {
		image, user, password string
	}{
		{"reg.example.com/app", "node", "node-pw"},
		{"reg.example.com/team-a/app", "team-a", "team-a-pw"},
		{"unknown.example.com/app", "", ""},
		{"registry.ci.example/apps/web", "oauth2accesstoken", "registry-token-for-puller"},
	} {
		creds, ok := keyring.Lookup(tc.image)
		if tc.user == "" {
			if ok && len(creds) > 0 && creds[0].Username != "" {
				t.Errorf("Lookup(%s) = %+v, want no credential", tc.image, creds)
			}
			continue
		}
		if !ok || len(creds) == 0 {
			t.Errorf("Lookup(%s): no credential", tc.image)
			continue
		}
		// kubelet tries the most specific key first.
		if creds[0].Username != tc.user || creds[0].Password != tc.password {
			t.Errorf("Lookup(%s) first = %s/%s, want %s", tc.image, creds[0].Username, creds[0].Password, tc.user)
		}
	}
	if exchanges.Load() != 1 || tokenRequests.Load() == 0 {
		t.Errorf("%d exchanges and %d token requests for the service-account image, want 1 and at least 1", exchanges.Load(), tokenRequests.Load())
	}
}
