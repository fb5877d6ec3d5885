package tests

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/notaryproject/docker-credential-notation/internal/keyctl"
	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
)

var updateScripts = flag.Bool("update-scripts", false, "rewrite the expected files of failing cmp commands in testdata/script")

// TestScript runs testdata/script/*.txtar against the built binary.
//
// Each script runs in its own $WORK with HOME=$WORK/home,
// XDG_CONFIG_HOME=$WORK/home/.config and
// DOCKER_CREDENTIAL_NOTATION_STORE_DIR=$WORK/store, and sees:
//
//	$HELPERCONFIG  the helper's default config directory under that HOME
//	$VERSION       the version stamped into the binary
//
// and these commands besides testscript's own:
//
//	writefile FILE STRING
//	    write STRING, a Go string literal body ('a\x00b', 'x\n'), to FILE
//	gencred [-total] SERVER USER SIZE PAYLOAD WANT
//	    write a store payload for SERVER and USER with a secret of SIZE
//	    bytes (with -total, the whole payload is SIZE bytes) to PAYLOAD, and
//	    the exact answer `get SERVER` must print to WANT
//	agekeygen [-pq] FILE [VAR]
//	    write a new age identity (X25519, or hybrid post-quantum with -pq)
//	    to FILE with mode 0600, and put the identity in $VAR if given
//	[!] agedecrypt IDENTITYFILE FILE OUT
//	    decrypt the age file FILE with the stock age library and write the
//	    plaintext to OUT
//	ageencrypt IDENTITYFILE IN OUT
//	    encrypt IN to the recipient of the (first) identity in IDENTITYFILE
//	truncate FILE SIZE
//	    cut FILE to SIZE bytes (negative: cut -SIZE bytes off the end)
//	flipbyte FILE OFFSET
//	    invert the byte at OFFSET (negative: from the end)
//	[!] perm FILE MODE
//	    check that FILE's permission bits are MODE (octal; unix only)
//	nosecretkey DIR...
//	    fail if any file under the directories holds an age secret key
//	    (AGE-SECRET-KEY)
//	agepluginrecorder DIR FILE
//	    put the test plugin age-plugin-recorder (tests/reliability/testdata/
//	    recorder, built once per run) in DIR, and write an identity of it to
//	    FILE (mode 0600); with RECORDER_PIN set the plugin asks for that PIN
//
// and the condition [keyctl]: the kernel keyring answers (Linux, not
// blocked by a seccomp profile).
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                "testdata/script",
		RequireUniqueNames: true,
		UpdateScripts:      *updateScripts,
		Setup:              setupScript,
		Condition:          scriptCondition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"writefile":         cmdWritefile,
			"gencred":           cmdGencred,
			"agekeygen":         cmdAgekeygen,
			"agedecrypt":        cmdAgedecrypt,
			"ageencrypt":        cmdAgeencrypt,
			"truncate":          cmdTruncate,
			"flipbyte":          cmdFlipbyte,
			"perm":              cmdPerm,
			"nosecretkey":       cmdNoSecretKey,
			"agepluginrecorder": cmdAgePluginRecorder,
		},
	})
}

func setupScript(env *testscript.Env) error {
	home := filepath.Join(env.WorkDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	xdg := filepath.Join(home, ".config")
	env.Setenv("HOME", home)
	env.Setenv("USERPROFILE", home)
	env.Setenv("XDG_CONFIG_HOME", xdg)
	storeDir := filepath.Join(env.WorkDir, "store")
	env.Setenv("DOCKER_CREDENTIAL_NOTATION_STORE_DIR", storeDir)
	// What the binary kept in the kernel keyring for this store goes with
	// it: the user keyring's quota is small for a user other than root.
	env.Defer(func() {
		keyctl.ForStore(binName, "identity", storeDir).Drop()
		keyctl.ForStore(binName, "file-key", storeDir).Drop()
	})
	// No keychain: backend auto picks the encrypted file, wherever the tests
	// run (the keychain has its own scripts, run against a private keyring).
	env.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(env.WorkDir, "no-session-bus"))
	env.Setenv("PATH", binDir+string(os.PathListSeparator)+env.Getenv("PATH"))
	env.Setenv("VERSION", testVersion)

	// The helper's default config directory, as os.UserConfigDir defines it.
	configDir := xdg
	switch runtime.GOOS {
	case "windows":
		configDir = filepath.Join(home, "AppData")
		env.Setenv("AppData", configDir)
	case "darwin", "ios":
		configDir = filepath.Join(home, "Library", "Application Support")
	}
	env.Setenv("HELPERCONFIG", filepath.Join(configDir, binName))
	return nil
}

func cmdWritefile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: writefile FILE STRING")
	}
	s, err := strconv.Unquote(`"` + strings.ReplaceAll(args[1], `"`, `\"`) + `"`)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(s), 0o666))
}

// secretAlphabet holds no character that JSON escapes, so a secret's
// encoded length is its length.
const secretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."

func cmdGencred(ts *testscript.TestScript, neg bool, args []string) {
	total := len(args) > 0 && args[0] == "-total"
	if total {
		args = args[1:]
	}
	if neg || len(args) != 5 {
		ts.Fatalf("usage: gencred [-total] SERVER USER SIZE PAYLOAD WANT")
	}
	server, user := args[0], args[1]
	size, err := strconv.Atoi(args[2])
	ts.Check(err)
	encode := func(secret string) []byte {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		ts.Check(enc.Encode(map[string]string{"ServerURL": server, "Username": user, "Secret": secret}))
		return buf.Bytes()
	}
	secretLen := size
	if total {
		secretLen = size - len(encode(""))
		if secretLen < 0 {
			ts.Fatalf("gencred: %d bytes cannot hold the payload's fields", size)
		}
	}
	secret := make([]byte, secretLen)
	for i := range secret {
		secret[i] = secretAlphabet[(i*7+i/len(secretAlphabet))%len(secretAlphabet)]
	}
	payload := encode(string(secret))
	if total && len(payload) != size {
		ts.Fatalf("gencred: payload is %d bytes, want %d", len(payload), size)
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[3]), payload, 0o666))

	// get answers with the fields in protocol order.
	want, err := json.Marshal(struct{ ServerURL, Username, Secret string }{server, user, string(secret)})
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[4]), append(want, '\n'), 0o666))
}

func cmdAgekeygen(ts *testscript.TestScript, neg bool, args []string) {
	pq := len(args) > 0 && args[0] == "-pq"
	if pq {
		args = args[1:]
	}
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: agekeygen [-pq] FILE [VAR]")
	}
	var id fmt.Stringer
	var recipient string
	if pq {
		h, err := age.GenerateHybridIdentity()
		ts.Check(err)
		id, recipient = h, h.Recipient().String()
	} else {
		x, err := age.GenerateX25519Identity()
		ts.Check(err)
		id, recipient = x, x.Recipient().String()
	}
	content := "# public key: " + recipient + "\n" + id.String() + "\n"
	path := ts.MkAbs(args[0])
	ts.Check(os.WriteFile(path, []byte(content), 0o600))
	ts.Check(os.Chmod(path, 0o600))
	if len(args) == 2 {
		ts.Setenv(args[1], id.String())
	}
}

func cmdAgedecrypt(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: agedecrypt IDENTITYFILE FILE OUT")
	}
	idf, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer idf.Close()
	ids, err := age.ParseIdentities(idf)
	ts.Check(err)
	data, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	plain, err := func() ([]byte, error) {
		r, err := age.Decrypt(bytes.NewReader(data), ids...)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}()
	switch {
	case neg && err == nil:
		ts.Fatalf("%s decrypted with %s", args[1], args[0])
	case neg:
		return
	}
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), plain, 0o600))
}

func cmdAgeencrypt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: ageencrypt IDENTITYFILE IN OUT")
	}
	idf, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer idf.Close()
	ids, err := age.ParseIdentities(idf)
	ts.Check(err)
	var r age.Recipient
	switch id := ids[0].(type) {
	case *age.HybridIdentity:
		r = id.Recipient()
	case *age.X25519Identity:
		r = id.Recipient()
	default:
		ts.Fatalf("ageencrypt: unsupported identity %T", id)
	}
	plain, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	ts.Check(err)
	_, err = w.Write(plain)
	ts.Check(err)
	ts.Check(w.Close())
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), buf.Bytes(), 0o600))
}

func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: truncate FILE SIZE")
	}
	size, err := strconv.ParseInt(args[1], 10, 64)
	ts.Check(err)
	path := ts.MkAbs(args[0])
	if size < 0 {
		fi, err := os.Stat(path)
		ts.Check(err)
		size += fi.Size()
	}
	ts.Check(os.Truncate(path, size))
}

func cmdFlipbyte(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: flipbyte FILE OFFSET")
	}
	off, err := strconv.Atoi(args[1])
	ts.Check(err)
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	if off < 0 {
		off += len(b)
	}
	if off < 0 || off >= len(b) {
		ts.Fatalf("flipbyte: offset %s is outside the file's %d bytes", args[1], len(b))
	}
	b[off] ^= 0xff
	ts.Check(os.WriteFile(path, b, 0o600))
}

func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: perm FILE MODE")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	got := fi.Mode().Perm()
	switch {
	case neg && got == os.FileMode(want):
		ts.Fatalf("%s has mode %04o", args[0], got)
	case !neg && got != os.FileMode(want):
		ts.Fatalf("%s has mode %04o, want %04o", args[0], got, want)
	}
}

// scriptCondition answers [keyctl].
func scriptCondition(cond string) (bool, error) {
	if cond != "keyctl" {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	_, err := keyctl.New(binName + ":test-probe").Load()
	return err == nil, nil
}

func cmdNoSecretKey(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: nosecretkey DIR...")
	}
	for _, dir := range args {
		ts.Check(filepath.WalkDir(ts.MkAbs(dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte("AGE-SECRET-KEY")) {
				ts.Fatalf("%s holds an age secret key", path)
			}
			return nil
		}))
	}
}

// recorderPlugin builds the test plugin once per run.
var recorderPlugin = sync.OnceValues(func() (string, error) {
	root, err := helperbin.ModuleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(binDir, "plugins", "age-plugin-recorder"+helperbin.ExeSuffix())
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./tests/reliability/testdata/recorder")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("failed to build the recorder plugin: %v\n%s", err, b)
	}
	return out, nil
})

func cmdAgePluginRecorder(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: agepluginrecorder DIR FILE")
	}
	built, err := recorderPlugin()
	ts.Check(err)
	b, err := os.ReadFile(built)
	ts.Check(err)
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	ts.Check(os.WriteFile(filepath.Join(dir, filepath.Base(built)), b, 0o755))
	x, err := age.GenerateX25519Identity()
	ts.Check(err)
	id := plugin.EncodeIdentity("recorder", []byte(x.String()))
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte("# the recorder plugin\n"+id+"\n"), 0o600))
}
