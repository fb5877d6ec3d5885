//go:build linux

package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"
	"github.com/rogpeppe/go-internal/testscript"
)

// Against a real Secret Service: gnome-keyring on a private D-Bus session,
// as scripts/with-secret-service.sh provides:
//
//	scripts/with-secret-service.sh go test -count=1 -run Keychain ./tests/
//
// The binary has no setting for its service name, so these scripts create,
// read and delete items of the service "docker-credential-notation" itself,
// and `migrate --to file` moves every one of them. They therefore run only
// inside the script's throwaway session (it exports TEST_KEYRING_PASSWORD),
// never against a developer's own keyring; elsewhere they skip, unless
// DOCKER_CREDENTIAL_NOTATION_REQUIRE_SECRET_SERVICE=1 (set by the script,
// and so in CI), which makes that a failure.

const (
	envRequireSecretService = "DOCKER_CREDENTIAL_NOTATION_REQUIRE_SECRET_SERVICE"
	envKeyringPassword      = "TEST_KEYRING_PASSWORD"
	envSessionBus           = "DBUS_SESSION_BUS_ADDRESS"
)

// The Secret Service's D-Bus names.
const (
	ssName            = "org.freedesktop.secrets"
	ssPath            = dbus.ObjectPath("/org/freedesktop/secrets")
	ssInterface       = "org.freedesktop.Secret.Service"
	ssCollection      = "org.freedesktop.Secret.Collection"
	ssLoginCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
)

// requireSecretService is read when the package is initialized: TestMain
// then unsets every DOCKER_CREDENTIAL_NOTATION_ variable, so that nothing
// from the environment steers the helper.
var requireSecretService = os.Getenv(envRequireSecretService) == "1"

// TestKeychainScript runs testdata/keychain/*.txtar against the built
// binary and a real Secret Service.
//
// The scripts share one keyring, so they run one at a time, each script
// names its registries under a domain of its own, erases them at its end,
// and starts from a keychain that holds none of this helper's entries.
// Besides what TestScript provides, each script sees:
//
//	DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR  the private session's
//	$SESSION_BUS  the private session bus address, to restore it after
//	              a script replaced or removed DBUS_SESSION_BUS_ADDRESS
//
// these conditions:
//
//	[userbus]  /run/user/<uid> names a session bus, which the helper falls
//	           back to when DBUS_SESSION_BUS_ADDRESS is unset; a script that
//	           means "no session bus at all" skips, rather than reach it
//
// TestScript's writefile, gencred, agedecrypt and perm, and these commands:
//
//	[!] within DURATION PROGRAM [ARG...]
//	    like exec, and PROGRAM must finish within DURATION; with !, it must
//	    fail with exit status 1 (a bound against hangs, not a benchmark)
//	keyring lock|unlock|stop|cont
//	    lock the login keyring (as a screen locker would) or unlock it with
//	    the throwaway password; stop (SIGSTOP) or continue the keyring
//	    daemon. The script's end undoes a lock or stop it left in place.
func TestKeychainScript(t *testing.T) {
	requireThrowawaySecretService(t)
	if m, err := keychainEntries(t.TempDir()); err != nil {
		t.Fatal(err)
	} else if len(m) > 0 {
		t.Fatalf("the keychain already holds entries of %s (%v): the scripts expect it to hold none", binName, m)
	}
	p := testscript.Params{
		Dir:                "testdata/keychain",
		RequireUniqueNames: true,
		UpdateScripts:      *updateScripts,
		Setup:              setupKeychainScript,
		Condition:          keychainCondition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"writefile":  cmdWritefile,
			"gencred":    cmdGencred,
			"agedecrypt": cmdAgedecrypt,
			"perm":       cmdPerm,
			"within":     cmdWithin,
			"keyring":    cmdKeyring,
		},
	}
	if d, ok := t.Deadline(); ok {
		p.Deadline = d
	}
	testscript.RunT(serialT{t}, p)
}

// serialT runs testscript's scripts one after another: they share the
// keyring, and migrate moves every entry in it.
type serialT struct{ *testing.T }

func (serialT) Parallel()     {}
func (serialT) Verbose() bool { return testing.Verbose() }
func (t serialT) Run(name string, f func(testscript.T)) {
	t.T.Run(name, func(t *testing.T) { f(serialT{t}) })
}

// requireThrowawaySecretService skips (or, when required, fails) unless the
// test runs inside with-secret-service.sh and its Secret Service answers.
func requireThrowawaySecretService(t *testing.T) {
	t.Helper()
	why := ""
	switch {
	case os.Getenv(envKeyringPassword) == "":
		why = "not inside scripts/with-secret-service.sh (" + envKeyringPassword + " is not set), and these tests use the helper's own service name, so they never touch a real keyring"
	case os.Getenv(envSessionBus) == "":
		why = envSessionBus + " is not set"
	default:
		if err := secretServiceAnswers(); err != nil {
			why = err.Error()
		}
	}
	if why == "" {
		return
	}
	if requireSecretService {
		t.Fatalf("no usable Secret Service: %s; and %s=1", why, envRequireSecretService)
	}
	t.Skipf("no usable Secret Service: %s; run: scripts/with-secret-service.sh go test -run Keychain ./tests/", why)
}

// secretServiceAnswers checks, within 2 seconds, that a Secret Service owns
// its name on the session bus and that its login keyring is unlocked.
func secretServiceAnswers() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := dbus.Connect(os.Getenv(envSessionBus), dbus.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("cannot connect to the session bus: %v", err)
	}
	defer conn.Close()
	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, ssName).Store(&owned); err != nil {
		return fmt.Errorf("the session bus does not answer: %v", err)
	}
	if !owned {
		return fmt.Errorf("no Secret Service (%s) runs on the session bus", ssName)
	}
	locked, err := loginLocked(ctx, conn)
	if err != nil {
		return err
	}
	if locked {
		return errors.New("the login keyring is locked")
	}
	return nil
}

func loginLocked(ctx context.Context, conn *dbus.Conn) (bool, error) {
	var v dbus.Variant
	err := conn.Object(ssName, ssLoginCollection).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, ssCollection, "Locked").Store(&v)
	if err != nil {
		return false, fmt.Errorf("the Secret Service has no login keyring: %v", err)
	}
	locked, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the login keyring's Locked property is %v", v)
	}
	return locked, nil
}

func setupKeychainScript(env *testscript.Env) error {
	if err := setupScript(env); err != nil {
		return err
	}
	bus := os.Getenv(envSessionBus)
	env.Setenv(envSessionBus, bus)
	env.Setenv("SESSION_BUS", bus)
	env.Setenv("XDG_RUNTIME_DIR", os.Getenv("XDG_RUNTIME_DIR"))
	// A script that fails half way leaves its entries behind, and the next
	// script's migrate would move them: erase them. A script that passes has
	// erased its own already.
	cleanupDir := filepath.Join(env.WorkDir, ".keychain-cleanup")
	env.Defer(func() {
		erased, err := eraseKeychainEntries(cleanupDir)
		if err != nil {
			env.T().Log("cleaning up the keychain: ", err)
		}
		if len(erased) > 0 {
			env.T().Log("erased entries the script left in the keychain: ", strings.Join(erased, ", "))
		}
	})
	return nil
}

// keychainEnv is the environment in which the test itself runs the binary on
// the private session's keychain, with storeDir for its lock.
func keychainEnv(storeDir string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + storeDir,
		envSessionBus + "=" + os.Getenv(envSessionBus),
		"DOCKER_CREDENTIAL_NOTATION_BACKEND=keychain",
		"DOCKER_CREDENTIAL_NOTATION_STORE_DIR=" + storeDir,
	}
}

// keychainEntries lists the keychain's entries through the binary.
func keychainEntries(storeDir string) (map[string]string, error) {
	cmd := exec.Command(binName, "list")
	cmd.Env = keychainEnv(storeDir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s list: %v: %s%s", binName, err, out, stderr.Bytes())
	}
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("%s list printed %q: %v", binName, out, err)
	}
	return m, nil
}

// eraseKeychainEntries erases every entry of the keychain through the
// binary and returns their server URLs.
func eraseKeychainEntries(storeDir string) ([]string, error) {
	m, err := keychainEntries(storeDir)
	if err != nil {
		return nil, err
	}
	var erased []string
	for u := range m {
		cmd := exec.Command(binName, "erase")
		cmd.Env = keychainEnv(storeDir)
		cmd.Stdin = strings.NewReader(u)
		if out, err := cmd.CombinedOutput(); err != nil {
			return erased, fmt.Errorf("%s erase %s: %v: %s", binName, u, err, out)
		}
		erased = append(erased, u)
	}
	return erased, nil
}

func keychainCondition(cond string) (bool, error) {
	switch cond {
	case "userbus":
		run := filepath.Join("/run/user", strconv.Itoa(os.Getuid()))
		for _, name := range []string{"bus", "dbus-session"} {
			if _, err := os.Stat(filepath.Join(run, name)); err == nil {
				return true, nil
			}
		}
		return false, nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

func cmdWithin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: [!] within DURATION PROGRAM [ARG...]")
	}
	limit, err := time.ParseDuration(args[0])
	ts.Check(err)
	start := time.Now()
	err = ts.Exec(args[1], args[2:]...)
	took := time.Since(start).Round(time.Millisecond)
	ts.Logf("[%s took %v]", args[1], took)
	if took > limit {
		ts.Fatalf("%s took %v, want at most %v", args[1], took, limit)
	}
	var exitErr *exec.ExitError
	switch {
	case !neg && err != nil:
		ts.Fatalf("unexpected command failure: %v", err)
	case neg && err == nil:
		ts.Fatalf("unexpected command success")
	case neg && !errors.As(err, &exitErr):
		ts.Fatalf("failed to run %s: %v", args[1], err)
	case neg && exitErr.ExitCode() != 1:
		ts.Fatalf("%s exited with status %d, want 1", args[1], exitErr.ExitCode())
	}
}

func cmdKeyring(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: keyring lock|unlock|stop|cont")
	}
	conn, err := dbus.Connect(os.Getenv(envSessionBus))
	ts.Check(err)
	defer conn.Close()
	switch args[0] {
	case "lock":
		ts.Check(lockLogin(conn))
		ts.Defer(func() {
			c, err := dbus.Connect(os.Getenv(envSessionBus))
			if err != nil {
				return
			}
			defer c.Close()
			if locked, err := loginLocked(context.Background(), c); err == nil && locked {
				_ = unlockLogin(c)
			}
		})
	case "unlock":
		ts.Check(unlockLogin(conn))
	case "stop", "cont":
		var pid uint32
		ts.Check(conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, ssName).Store(&pid))
		if args[0] == "cont" {
			ts.Check(syscall.Kill(int(pid), syscall.SIGCONT))
			return
		}
		ts.Check(syscall.Kill(int(pid), syscall.SIGSTOP))
		ts.Defer(func() { _ = syscall.Kill(int(pid), syscall.SIGCONT) })
	default:
		ts.Fatalf("usage: keyring lock|unlock|stop|cont")
	}
}

// lockLogin locks the login keyring with the Secret Service's Lock, as a
// screen locker would.
func lockLogin(conn *dbus.Conn) error {
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err := conn.Object(ssName, ssPath).Call(ssInterface+".Lock", 0, []dbus.ObjectPath{ssLoginCollection}).Store(&locked, &prompt)
	if err != nil {
		return fmt.Errorf("failed to lock the login keyring: %v", err)
	}
	if len(locked) != 1 {
		return fmt.Errorf("failed to lock the login keyring: locked %v, prompt %v", locked, prompt)
	}
	return nil
}

// unlockLogin unlocks the login keyring with the throwaway password through
// gnome-keyring's own interface (Seahorse's way): the standard Unlock needs
// a prompt, and there is no display.
func unlockLogin(conn *dbus.Conn) error {
	svc := conn.Object(ssName, ssPath)
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call(ssInterface+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		return fmt.Errorf("failed to unlock the login keyring: %v", err)
	}
	secret := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(os.Getenv(envKeyringPassword)), "text/plain"}
	if err := svc.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0, ssLoginCollection, secret).Err; err != nil {
		return fmt.Errorf("failed to unlock the login keyring: %v", err)
	}
	return nil
}
