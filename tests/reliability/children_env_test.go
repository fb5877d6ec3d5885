package reliability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
)

// TestChildProcessHygieneKeyEnv gives the file store its key in the
// environment (DOCKER_CREDENTIAL_NOTATION_IDENTITY, here a plugin identity,
// so that a child process runs) with a passphrase beside it: the helper
// reads both, and the plugin it starts inherits neither.
func TestChildProcessHygieneKeyEnv(t *testing.T) {
	dir := recorderPath(t)
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pluginID := plugin.EncodeIdentity("recorder", []byte(x.String()))
	const passphrase = "KEY-ENV-passphrase-3b9d41"

	root := t.TempDir()
	logPath := filepath.Join(root, "recorder.log")
	s := newSandbox(t,
		"PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"RECORDER_LOG="+logPath,
		"DOCKER_CREDENTIAL_NOTATION_KEY_SOURCE=identity",
		"DOCKER_CREDENTIAL_NOTATION_IDENTITY="+pluginID,
		"DOCKER_CREDENTIAL_NOTATION_PASSPHRASE="+passphrase,
	)
	const secret = "KEY-ENV-credential-7ac2e0"
	s.mustStore(t, "one.example.com", "alice", secret)
	if c, found := s.get(t, "one.example.com"); !found || c.Secret != secret {
		t.Fatalf("get = %+v, found %v", c, found)
	}

	recs := readRecords(t, logPath)
	if len(recs) < 2 {
		t.Fatalf("the plugin ran %d times; want a wrap and an unwrap at least", len(recs))
	}
	for _, r := range recs {
		checkNoSecret(t, r, []string{secret, passphrase, x.String()})
		for _, kv := range r.Env {
			name, _, _ := strings.Cut(kv, "=")
			if name == "DOCKER_CREDENTIAL_NOTATION_IDENTITY" || name == "DOCKER_CREDENTIAL_NOTATION_PASSPHRASE" {
				t.Errorf("%s inherited %s", r.Name, name)
			}
		}
	}
	t.Logf("plugin runs: %d, none with the key, the passphrase or the credential in argv or environment", len(recs))
}
