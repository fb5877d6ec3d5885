// Package kubeletcontract proves the provider's wire format against
// kubelet's own types (k8s.io/kubelet v0.37.2): requests encoded the way
// kubelet encodes them (its codec factory, strict) are answered by the
// built binary, and the answers decode with kubelet's strict decoder into
// its CredentialProviderResponse. The binary is built from this checkout as
// the Makefile builds it.
package kubeletcontract

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/kubelet/pkg/apis/credentialprovider"
	"k8s.io/kubelet/pkg/apis/credentialprovider/install"
	v1 "k8s.io/kubelet/pkg/apis/credentialprovider/v1"
	"k8s.io/kubelet/pkg/apis/credentialprovider/v1beta1"
)

var update = flag.Bool("update", false, "rewrite the golden requests")

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dcn-kubeletcontract-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "docker-credential-notation")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("failed to build the helper: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// codecs is kubelet's: the provider API installed, strict decoding
// (pkg/credentialprovider/plugin/plugin.go).
func codecs() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	install.Install(scheme)
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict)
}

// encodeRequest encodes req for version as kubelet does.
func encodeRequest(t *testing.T, req *credentialprovider.CredentialProviderRequest, version string) []byte {
	t.Helper()
	cf := codecs()
	info, ok := runtime.SerializerInfoForMediaType(cf.SupportedMediaTypes(), runtime.ContentTypeJSON)
	if !ok {
		t.Fatal("no JSON serializer")
	}
	gv := v1.SchemeGroupVersion
	if version == "v1beta1" {
		gv = v1beta1.SchemeGroupVersion
	}
	b, err := runtime.Encode(cf.EncoderForVersion(info.Serializer, gv), req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeResponse decodes the provider's answer as kubelet does, strictly.
func decodeResponse(t *testing.T, b []byte, version string) *credentialprovider.CredentialProviderResponse {
	t.Helper()
	obj, gvk, err := codecs().UniversalDecoder().Decode(b, nil, nil)
	if err != nil {
		t.Fatalf("kubelet's strict decoder refuses the answer: %v\n%s", err, b)
	}
	if gvk.Kind != "CredentialProviderResponse" || gvk.Version != version || gvk.Group != v1.GroupName {
		t.Fatalf("answer is %v, want CredentialProviderResponse %s/%s", gvk, v1.GroupName, version)
	}
	resp, ok := obj.(*credentialprovider.CredentialProviderResponse)
	if !ok {
		t.Fatalf("decoded %T", obj)
	}
	return resp
}

type sandbox struct{ env []string }

func newSandbox(t *testing.T) *sandbox {
	home := t.TempDir()
	return &sandbox{env: []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"DOCKER_CREDENTIAL_NOTATION_BACKEND=file", "DOCKER_CREDENTIAL_NOTATION_STORE_DIR=" + filepath.Join(home, "store"),
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(home, "no-bus")}}
}

func (s *sandbox) run(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = s.env
	cmd.Stdin = bytes.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return o.String(), e.String(), ee.ExitCode()
		}
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

func TestResponsesDecodeWithKubeletTypes(t *testing.T) {
	s := newSandbox(t)
	for _, c := range []string{
		`{"ServerURL":"reg.example.com","Username":"node","Secret":"node-pw"}`,
		`{"ServerURL":"reg.example.com/team-a","Username":"team-a","Secret":"team-a-pw"}`,
	} {
		if out, errOut, code := s.run(t, []byte(c), "store"); code != 0 {
			t.Fatalf("store: %d %s %s", code, out, errOut)
		}
	}
	for _, tc := range []struct {
		name, version, image, key, user string
		cacheKeyType                    credentialprovider.PluginCacheKeyType
	}{
		// The host answers per image: team-a has its own entry.
		{"host", "v1", "reg.example.com/app", "reg.example.com", "node", credentialprovider.ImagePluginCacheKeyType},
		{"path-scoped", "v1", "reg.example.com/team-a/app", "reg.example.com/team-a", "team-a", credentialprovider.ImagePluginCacheKeyType},
		{"v1beta1", "v1beta1", "reg.example.com/team-a/app", "reg.example.com/team-a", "team-a", credentialprovider.ImagePluginCacheKeyType},
		{"unknown registry", "v1", "unknown.example.com/app", "", "", credentialprovider.RegistryPluginCacheKeyType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := encodeRequest(t, &credentialprovider.CredentialProviderRequest{Image: tc.image, ServiceAccountToken: "sa.jwt.token", ServiceAccountAnnotations: map[string]string{"example.com/role": "puller"}}, tc.version)
			golden := filepath.Join("testdata", "request-"+strings.ReplaceAll(tc.name, " ", "-")+".json")
			if *update {
				if err := os.WriteFile(golden, req, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(req)) {
				t.Errorf("kubelet encodes the request as\n%s\nnot as the golden file\n%s", req, want)
			}
			// The golden file, as committed, is what the binary answers.
			out, errOut, code := s.run(t, want, "kubelet-provider")
			if code != 0 {
				t.Fatalf("kubelet-provider: exit %d\n%s", code, errOut)
			}
			resp := decodeResponse(t, []byte(out), tc.version)
			if resp.CacheKeyType != tc.cacheKeyType {
				t.Errorf("cacheKeyType %q, want %q", resp.CacheKeyType, tc.cacheKeyType)
			}
			if tc.key == "" {
				if len(resp.Auth) != 0 || resp.CacheDuration == nil || resp.CacheDuration.Duration != 0 {
					t.Errorf("answer for an unknown registry: %+v, want an empty auth and 0s", resp)
				}
				return
			}
			if a, ok := resp.Auth[tc.key]; !ok || a.Username != tc.user || len(resp.Auth) != 1 {
				t.Errorf("auth %+v, want %s for %s", resp.Auth, tc.user, tc.key)
			}
			if resp.CacheDuration != nil {
				t.Errorf("a stored credential came with cacheDuration %v, want kubelet's default", resp.CacheDuration.Duration)
			}
		})
	}
}

func TestBadRequestsAsKubeletSeesThem(t *testing.T) {
	s := newSandbox(t)
	// Another kind of the group, encoded by kubelet's codec.
	cf := codecs()
	info, _ := runtime.SerializerInfoForMediaType(cf.SupportedMediaTypes(), runtime.ContentTypeJSON)
	other, err := runtime.Encode(cf.EncoderForVersion(info.Serializer, v1.SchemeGroupVersion), &credentialprovider.CredentialProviderResponse{CacheKeyType: credentialprovider.ImagePluginCacheKeyType})
	if err != nil {
		t.Fatal(err)
	}
	noImage := encodeRequest(t, &credentialprovider.CredentialProviderRequest{}, "v1")
	for name, in := range map[string][]byte{"another kind": other, "no image": noImage, "malformed": []byte(`{"kind":`)} {
		start := time.Now()
		out, errOut, code := s.run(t, in, "kubelet-provider")
		if code != 1 || out != "" || errOut == "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1, nothing on stdout, a message on stderr", name, code, out, errOut)
		}
		t.Logf("%s: answered in %v: %s", name, time.Since(start).Round(time.Millisecond), strings.TrimSpace(errOut))
	}
}
