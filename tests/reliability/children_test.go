package reliability

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
)

// The helper starts two kinds of child process: age plugins, for a plugin
// identity of the file store (the age library runs age-plugin-NAME), and
// another credential helper, for `import --from-helper`. The tests below
// run both as a real program, testdata/recorder, which writes down its argv,
// its environment and (as a helper) its stdin, and check that no secret got
// there.

var (
	recorderOnce sync.Once
	recorderDir  string
	recorderErr  error
)

// recorderPath builds testdata/recorder once, under the names
// age-plugin-recorder and docker-credential-recorder, and returns the
// directory that holds them.
func recorderPath(t *testing.T) string {
	t.Helper()
	recorderOnce.Do(func() {
		root, err := helperbin.ModuleRoot()
		if err != nil {
			recorderErr = err
			return
		}
		// Next to the binary: TestMain removes that directory.
		dir := filepath.Join(filepath.Dir(bin), "recorder")
		if err := os.Mkdir(dir, 0o700); err != nil {
			recorderErr = err
			return
		}
		plug := filepath.Join(dir, "age-plugin-recorder"+helperbin.ExeSuffix())
		cmd := exec.Command("go", "build", "-trimpath", "-o", plug, "./tests/reliability/testdata/recorder")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			recorderErr = &buildError{err: err, out: out}
			return
		}
		b, err := os.ReadFile(plug)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "docker-credential-recorder"+helperbin.ExeSuffix()), b, 0o755)
		}
		recorderDir, recorderErr = dir, err
	})
	if recorderErr != nil {
		t.Fatalf("failed to build testdata/recorder: %v", recorderErr)
	}
	return recorderDir
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

// childRecord is one run of the recorder.
type childRecord struct {
	Name  string   `json:"name"`
	Argv  []string `json:"argv"`
	Env   []string `json:"env"`
	Stdin string   `json:"stdin"`
}

func readRecords(t *testing.T, path string) []childRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the recorder never ran: %v", err)
	}
	defer f.Close()
	var out []childRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var r childRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("recorder log line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// encodings returns secret as it could leak: itself, in base64 (as docker's
// config.json "auth" holds it), in hex, and JSON-quoted.
func encodings(secret string) []string {
	q, _ := json.Marshal(secret)
	return []string{
		secret,
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.StdEncoding.EncodeToString([]byte("alice:" + secret)),
		hex.EncodeToString([]byte(secret)),
		string(q),
	}
}

// checkNoSecret fails when any secret, in any of its encodings, is in the
// record's argv or environment.
func checkNoSecret(t *testing.T, r childRecord, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		for _, enc := range encodings(s) {
			for _, a := range r.Argv {
				if strings.Contains(a, enc) {
					t.Errorf("%s: argv %q carries a secret", r.Name, r.Argv)
				}
			}
			for _, kv := range r.Env {
				if strings.Contains(kv, enc) {
					k, _, _ := strings.Cut(kv, "=")
					t.Errorf("%s: environment variable %s carries a secret", r.Name, k)
				}
			}
		}
	}
}

// TestChildProcessHygienePlugin uses a plugin identity for the file store:
// every store, get, list and erase runs age-plugin-recorder (to wrap the
// file key for the new store, to unwrap it to read the old one). The
// plugin's argv is exactly the plugin protocol's flag, and neither it nor
// the plugin's environment carries a stored secret, including the secrets
// of other entries that the helper had decrypted when it ran the plugin.
func TestChildProcessHygienePlugin(t *testing.T) {
	dir := recorderPath(t)
	x, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pluginID := plugin.EncodeIdentity("recorder", []byte(x.String()))

	for _, debug := range []string{"0", "1"} {
		t.Run("debug="+debug, func(t *testing.T) {
			root := t.TempDir()
			idFile := filepath.Join(root, "identity.txt")
			if err := os.WriteFile(idFile, []byte("# the recorder plugin\n"+pluginID+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			logPath := filepath.Join(root, "recorder.log")
			s := newSandbox(t,
				"PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
				"RECORDER_LOG="+logPath,
				"DOCKER_CREDENTIAL_NOTATION_KEY_SOURCE=identity-file",
				"DOCKER_CREDENTIAL_NOTATION_IDENTITY_FILE="+idFile,
				"DOCKER_CREDENTIAL_NOTATION_DEBUG="+debug,
			)
			secrets := []string{
				"CHILD-MARKER-one-6f1d2a",
				"CHILD-MARKER-two-90c3be",
				"CHILD-MARKER-three-" + strings.Repeat("x", 5000),
			}
			servers := []string{"one.example.com", "https://two.example.com:5000", "[::1]:5003"}
			for i, srv := range servers {
				s.mustStore(t, srv, "alice", secrets[i])
			}
			for i, srv := range servers {
				c, found := s.get(t, srv)
				if !found || c.Secret != secrets[i] {
					t.Fatalf("get %s = %+v, found %v; want secret %d", srv, c, found, i)
				}
			}
			if m, r := s.list(t); len(m) != len(servers) {
				t.Fatalf("list = %v, %v", m, r)
			}
			if r := s.run(t, servers[1], "erase"); r.Code != 0 {
				t.Fatalf("erase: %v", r)
			}
			if _, found := s.get(t, servers[1]); found {
				t.Fatalf("get %s after erase: found", servers[1])
			}

			// The store is encrypted to the plugin's key: the X25519
			// identity inside it decrypts the file directly.
			f, err := os.Open(s.StoreFile())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			plain, err := age.Decrypt(f, x)
			if err != nil {
				t.Fatalf("the store is not encrypted to the plugin's key: %v", err)
			}
			if _, err := bytes.NewBuffer(nil).ReadFrom(plain); err != nil {
				t.Fatalf("decrypting the store: %v", err)
			}

			recs := readRecords(t, logPath)
			var wraps, unwraps int
			for _, r := range recs {
				if r.Name != "age-plugin-recorder" {
					t.Errorf("unexpected child %q", r.Name)
					continue
				}
				switch {
				case slices.Equal(r.Argv[1:], []string{"--age-plugin=recipient-v1"}):
					wraps++
				case slices.Equal(r.Argv[1:], []string{"--age-plugin=identity-v1"}):
					unwraps++
				default:
					t.Errorf("plugin argv %q: want only --age-plugin=recipient-v1 or identity-v1", r.Argv)
				}
				checkNoSecret(t, r, secrets)
			}
			// Four writes (three stores and an erase), each reading the old
			// store (but the first) and writing a new one; four gets and a
			// list that each read.
			if wraps < 4 || unwraps < 3+4+1 {
				t.Errorf("the plugin ran %d times to wrap and %d times to unwrap; want at least 4 and 8", wraps, unwraps)
			}
			t.Logf("plugin runs: %d wrap, %d unwrap, none with a secret in argv or environment", wraps, unwraps)
		})
	}
}

// TestChildProcessHygieneImport imports every credential of another helper
// (`import --from-helper recorder`): that helper is run with list and get as
// its only argument, the server URL as its only input, and none of the
// secrets, which it hands back on stdout, reach the argv, environment or
// stdin of a later run.
func TestChildProcessHygieneImport(t *testing.T) {
	dir := recorderPath(t)
	root := t.TempDir()
	secrets := map[string]string{
		"a.example.com":                "IMPORT-MARKER-a-51e0c7",
		"https://b.example.com:5000":   "IMPORT-MARKER-b-2b8d11",
		"https://index.docker.io/v1/":  "IMPORT-MARKER-hub-a4c9f0",
		"registry.example.com/project": "IMPORT-MARKER-repo-7e13d5",
	}
	src := map[string]map[string]string{}
	var all []string
	for u, sec := range secrets {
		src[u] = map[string]string{"Username": "alice", "Secret": sec}
		all = append(all, sec)
	}
	b, _ := json.Marshal(src)
	storePath := filepath.Join(root, "source.json")
	if err := os.WriteFile(storePath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(root, "recorder.log")
	s := newSandbox(t,
		"PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"RECORDER_LOG="+logPath,
		"RECORDER_STORE="+storePath,
		"DOCKER_CREDENTIAL_NOTATION_DEBUG=1",
	)
	r := s.run(t, "", "import", "--from-helper", "recorder")
	if r.Code != 0 {
		t.Fatalf("import: %v", r)
	}
	for _, sec := range all {
		if strings.Contains(r.Stdout, sec) || strings.Contains(r.Stderr, sec) {
			t.Errorf("import printed a secret: %v", r)
		}
	}
	for u, sec := range secrets {
		c, found := s.get(t, u)
		if !found || c.Secret != sec || c.Username != "alice" {
			t.Errorf("get %s after import = %+v, found %v", u, c, found)
		}
	}

	recs := readRecords(t, logPath)
	var lists int
	gets := map[string]int{}
	for _, rec := range recs {
		if rec.Name != "docker-credential-recorder" {
			t.Errorf("unexpected child %q", rec.Name)
			continue
		}
		switch {
		case slices.Equal(rec.Argv[1:], []string{"list"}):
			lists++
			// docker's client library writes "unused" to list's stdin.
			if rec.Stdin != "" && rec.Stdin != "unused" {
				t.Errorf("list got stdin %q", rec.Stdin)
			}
		case slices.Equal(rec.Argv[1:], []string{"get"}):
			gets[strings.TrimSpace(rec.Stdin)]++
			if _, ok := secrets[strings.TrimSpace(rec.Stdin)]; !ok {
				t.Errorf("get got stdin %q: want one of the listed server URLs", rec.Stdin)
			}
		default:
			t.Errorf("the other helper ran with argv %q: want list or get alone", rec.Argv)
		}
		checkNoSecret(t, rec, all)
		for _, sec := range all {
			if strings.Contains(rec.Stdin, sec) {
				t.Errorf("%s %q: stdin carries a secret", rec.Name, rec.Argv)
			}
		}
	}
	if lists != 1 || len(gets) != len(secrets) {
		t.Errorf("the other helper ran list %d times and get for %v; want list once and get for each of %d", lists, gets, len(secrets))
	}
	t.Logf("other helper runs: %d list, %d get, none with a secret in argv, environment or stdin", lists, len(gets))
}
