package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/helper/helpertest"
)

func TestExportDockerConfigJSON(t *testing.T) {
	mem := helpertest.NewMemStore()
	putCred(t, mem, "reg.example.com", "alice", "pw:with:colons")
	putCred(t, mem, "https://index.docker.io/v1/", "bob", "hub-pw")
	putCred(t, mem, "id.example.com", helper.IdentityTokenUsername, "refresh")

	code, out, errOut := runWith(t, mem, nil, "export", "reg.example.com")
	if code != 1 || out != "" || !strings.Contains(errOut, "without --yes") {
		t.Fatalf("export without --yes: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	file := filepath.Join(t.TempDir(), "pull-secret.json")
	code, out, errOut = runWith(t, mem, nil, "export", "--yes", "-o", file, "reg.example.com", "docker.io")
	if code != 0 || out != "" {
		t.Fatalf("export -o: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Auths map[string]struct{ Username, Password, Auth string }
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if a := got.Auths["reg.example.com"]; a.Username != "alice" || a.Password != "pw:with:colons" || a.Auth != "YWxpY2U6cHc6d2l0aDpjb2xvbnM=" {
		t.Errorf("reg.example.com: %+v", a)
	}
	if a := got.Auths["https://index.docker.io/v1/"]; a.Username != "bob" {
		t.Errorf("Docker Hub: %+v (auths %v)", a, got.Auths)
	}
	if fi, _ := os.Stat(file); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}

	for _, tc := range []struct{ reg, want string }{
		{"missing.example.com", "no credential is stored"},
		{"id.example.com", "identity token"},
	} {
		f := filepath.Join(t.TempDir(), "x.json")
		code, _, errOut := runWith(t, mem, nil, "export", "--yes", "-o", f, "reg.example.com", tc.reg)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("export %s: exit %d, %s", tc.reg, code, errOut)
		}
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("export %s wrote a file", tc.reg)
		}
	}
	if code, _, errOut := runWith(t, mem, nil, "export", "--format", "yaml", "--yes", "reg.example.com"); code != 1 || !strings.Contains(errOut, "only dockerconfigjson") {
		t.Errorf("--format yaml: exit %d, %s", code, errOut)
	}
}
