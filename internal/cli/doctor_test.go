package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/config"
)

// listFailing is a store whose List fails, as an undecryptable file does.
type listFailing struct{ helper.Store }

func (listFailing) List(context.Context) (map[string]string, error) {
	return nil, helper.WithHint(errors.New("failed to decrypt the store: no identity matched"), "set the identity that encrypted it")
}

// installed puts an executable named like the binary on w's PATH and makes
// doctor believe it is that binary.
func installed(t *testing.T, w *onboarding) string {
	t.Helper()
	self := filepath.Join(w.bin, Name)
	if runtime.GOOS == "windows" {
		self += ".exe"
	}
	writeFile(t, self, "#!/bin/sh\n", 0o755)
	old := executable
	executable = func() (string, error) { return self, nil }
	t.Cleanup(func() { executable = old })
	return self
}

func TestDoctorAllOK(t *testing.T) {
	w := newOnboarding(t)
	installed(t, w)
	writeFile(t, w.dockerConfig(), `{"auths":{"ghcr.io":{}},"credsStore":"notation"}`, 0o600)
	writeFile(t, w.notationConfig(), `{"credHelpers":{"ghcr.io":"notation"}}`, 0o600)
	writeFile(t, filepath.Join(w.vars[config.EnvStoreDir], "store.age"), "x", 0o600)
	if err := os.Chmod(w.vars[config.EnvStoreDir], 0o700); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := w.run(t, "doctor")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "OK ") {
			t.Errorf("not OK: %s", l)
		}
	}
	for _, want := range []string{"version", "config", "backend", "store", "perms", "docker", "notation", "path"} {
		if !strings.Contains(out, "  "+want+" ") {
			t.Errorf("no %s check:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "v1.2.3") || !strings.Contains(out, "(this binary)") {
		t.Errorf("output:\n%s", out)
	}

	code, out, _ = w.run(t, "doctor", "--json")
	var rep doctorReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.OK || len(rep.Settings) == 0 {
		t.Errorf("--json: exit %d, %v, %+v", code, err, rep)
	}
}

func TestDoctorFindsProblems(t *testing.T) {
	w := newOnboarding(t)
	// Not on PATH; docker's config misspells the key, shadows a registry
	// and keeps a password; notation names another helper.
	writeFile(t, w.dockerConfig(), `{"auths":{"ghcr.io":{"auth":"`+basicAuth("bob", "pw")+`"}},"credStore":"notation","credHelpers":{"gcr.io":"gcloud"}}`, 0o600)
	writeFile(t, w.notationConfig(), `{"credsStore":"pass"}`, 0o600)
	if runtime.GOOS != "windows" {
		writeFile(t, filepath.Join(w.vars[config.EnvStoreDir], "store.age"), "x", 0o644)
	}
	w.wrap = func(s helper.Store) helper.Store { return listFailing{s} }

	code, out, errOut := w.run(t, "doctor", "--json")
	if code != 1 || !strings.Contains(errOut, "doctor found 2 failing checks") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var rep doctorReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OK {
		t.Error("ok is true")
	}
	want := []struct{ name, status, detail, fix string }{
		{"store", statusFail, "failed to decrypt the store", "set the identity that encrypted it"},
		{"docker", statusWarn, `"credStore" ("notation"), a misspelling`, "configure --docker"},
		{"docker", statusWarn, "does not select this helper", "configure --docker"},
		{"docker", statusWarn, "gcr.io -> docker-credential-gcloud", "remove those entries"},
		{"docker", statusWarn, "plaintext credentials for ghcr.io", "import --from-config docker --remove-plaintext"},
		{"notation", statusWarn, `credsStore is "pass"`, "configure --notation"},
		{"path", statusFail, "is not on PATH", "put the directory"},
	}
	if runtime.GOOS != "windows" {
		want = append(want, struct{ name, status, detail, fix string }{"perms", statusWarn, "store.age is 0644", "chmod 600"})
	}
	for _, wc := range want {
		found := false
		for _, c := range rep.Checks {
			if c.Name == wc.name && c.Status == wc.status && strings.Contains(c.Detail, wc.detail) && strings.Contains(c.Fix, wc.fix) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s %s check with %q and fix %q in %+v", wc.status, wc.name, wc.detail, wc.fix, rep.Checks)
		}
	}
	if strings.Contains(out, basicAuth("bob", "pw")) {
		t.Error("doctor shows a secret")
	}
}

func TestDoctorOtherBinaryAndBadConfig(t *testing.T) {
	w := newOnboarding(t)
	installed(t, w)
	executable = func() (string, error) { return filepath.Join(w.home, "elsewhere"), nil }
	writeFile(t, w.dockerConfig(), `{"credsStore":`, 0o600)
	code, out, _ := w.run(t, "doctor")
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	for _, want := range []string{"FAIL  docker", "not valid JSON", "WARN  path", "not this binary"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDoctorRegistry(t *testing.T) {
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok && u == "bob" && p == "s3cr3t-ok" {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")

	w := newOnboarding(t)
	installed(t, w)
	w.vars[EnvInsecureRegistries] = host
	k, err := helper.ParseServerURL(host)
	if err != nil {
		t.Fatal(err)
	}
	put := func(secret string) {
		if err := w.store.MemStore.Put(context.Background(), k, helper.Credentials{ServerURL: host, Username: "bob", Secret: secret}); err != nil {
			t.Fatal(err)
		}
	}
	put("s3cr3t-ok")
	code, out, errOut := w.run(t, "doctor", "--registry", host)
	if !strings.Contains(out, "OK    registry   "+host+": OK: the registry accepts the stored credential") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	put("s3cr3t-bad")
	code, out, _ = w.run(t, "doctor", "--registry", host)
	if code != 1 || !strings.Contains(out, "FAIL  registry   "+host+": ") {
		t.Errorf("wrong password: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("doctor shows a secret:\n%s", out)
	}
}
