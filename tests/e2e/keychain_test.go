// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

// The keychain backend's rows run against a real Secret Service: each row
// starts its own D-Bus session bus (dbus-daemon with a throwaway
// configuration) and its own gnome-keyring-daemon on it, whose login keyring
// is created and unlocked with a throwaway password in the row's HOME. Rows
// run in parallel and each checks the helper's whole `list`, so every row
// gets a keyring of its own that starts empty; nothing is shared with the
// user's session bus or keyring.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	dbus "github.com/godbus/dbus/v5"
)

// keychainService is the service attribute of every item the helper keeps
// in the keychain (keyring.DefaultService).
const keychainService = "docker-credential-notation"

// secretServiceTools are the programs a keychain row runs, found like the
// peers (scripts/install-peers.sh links them from Debian's dbus-daemon and
// gnome-keyring packages).
var secretServiceTools = []string{"dbus-daemon", "gnome-keyring-daemon"}

// keychainSkipReason is why the keychain rows cannot run here, empty when
// they can. Set by TestMain.
var keychainSkipReason string

// findSecretServiceTools adds the tools to p, or sets keychainSkipReason
// when one is missing.
func findSecretServiceTools(p *peerSet) {
	var missing []string
	for _, tool := range secretServiceTools {
		found := ""
		for _, d := range p.dirs {
			if fi, err := os.Stat(filepath.Join(d, tool)); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				found = filepath.Join(d, tool)
				break
			}
		}
		if found == "" {
			found, _ = exec.LookPath(tool)
		}
		if found == "" {
			missing = append(missing, tool)
			continue
		}
		p.paths[tool] = found
	}
	if len(missing) > 0 {
		keychainSkipReason = fmt.Sprintf("%s not found, so the keychain rows cannot start a Secret Service; install Debian's dbus-daemon and gnome-keyring (scripts/install-peers.sh does)",
			strings.Join(missing, " and "))
	}
}

// keychainDescription names the Secret Service the keychain rows run
// against, e.g. "gnome-keyring 42.1-1+b2".
func keychainDescription(p *peerSet) string {
	v, ok := p.versions["gnome-keyring"]
	if !ok {
		v = p.version("gnome-keyring-daemon")
	}
	return "gnome-keyring " + v
}

// The Secret Service's D-Bus names.
const (
	ssName    = "org.freedesktop.secrets"
	ssPath    = dbus.ObjectPath("/org/freedesktop/secrets")
	ssService = "org.freedesktop.Secret.Service"
	ssItem    = "org.freedesktop.Secret.Item"
)

// secretServiceStartTimeout bounds the start of the bus and of the keyring
// daemon: each takes well under a second.
const secretServiceStartTimeout = 20 * time.Second

// secretService is one row's private session bus with gnome-keyring-daemon
// on it.
type secretService struct {
	// Address is the bus's DBUS_SESSION_BUS_ADDRESS.
	Address string
	dir     string // configuration and logs
	sockDir string // the bus's socket; short, for the 108-byte limit
	procs   []*process
	conn    *dbus.Conn
}

// startSecretService starts a session bus and gnome-keyring-daemon whose
// files live under home (as XDG_DATA_HOME would put them) and runDir, and
// waits until the login keyring is unlocked on the bus. dir holds the
// bus's configuration and both daemons' logs. On error nothing is left
// running.
func startSecretService(ctx context.Context, dir, home, runDir string, cred *syscall.Credential) (_ *secretService, err error) {
	ctx, cancel := context.WithTimeout(ctx, secretServiceStartTimeout)
	defer cancel()
	s := &secretService{dir: dir}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// The socket's path must fit in sun_path: a t.TempDir can be too deep.
	s.sockDir, err = os.MkdirTemp("", "dcn-bus-")
	if err != nil {
		return nil, err
	}
	// A row of another user (rootless podman) gets a bus and a keyring
	// of that user; the bus lets the test's own connection in too.
	allowUser := ""
	if cred != nil {
		allowUser = "\n    <allow user=\"*\"/>"
		for _, d := range []string{dir, s.sockDir} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	// No <servicedir>: nothing is started by D-Bus activation, so a
	// keyring daemon that dies fails the row instead of being replaced by
	// one that reads another HOME.
	busConfig := `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=` + s.sockDir + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>` + allowUser + `
  </policy>
</busconfig>
`
	cfg := filepath.Join(dir, "session-bus.conf")
	if err := os.WriteFile(cfg, []byte(busConfig), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(cfg, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}

	// dbus-daemon prints its address on fd 3 once it listens.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	bus := exec.Command(reachablePath("dbus-daemon", cred), "--config-file="+cfg, "--nofork", "--print-address=3")
	bus.Env = serverEnv()
	bus.ExtraFiles = []*os.File{pw}
	bus.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	p, err := startCmd(dir, "dbus-daemon", bus)
	pw.Close()
	if err != nil {
		pr.Close()
		return nil, err
	}
	s.procs = append(s.procs, p)
	addr := make(chan string, 1)
	go func() {
		defer pr.Close()
		line, _ := bufio.NewReader(pr).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case s.Address = <-addr:
	case <-ctx.Done():
		pr.Close()
		return nil, fmt.Errorf("dbus-daemon printed no address within %s%s", secretServiceStartTimeout, s.logs())
	}
	if s.Address == "" {
		return nil, fmt.Errorf("dbus-daemon printed no address%s", s.logs())
	}
	s.conn, err = dbus.Connect(s.Address)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to the session bus %s: %v%s", s.Address, err, s.logs())
	}

	// --unlock reads the login keyring's password on stdin and creates
	// the keyring with it; --foreground keeps it in its process group,
	// which close stops.
	pass := make([]byte, 16)
	if _, err := rand.Read(pass); err != nil {
		return nil, err
	}
	gk := exec.Command(reachablePath("gnome-keyring-daemon", cred), "--foreground", "--unlock", "--components=secrets")
	gk.Env = append(serverEnv(),
		"DBUS_SESSION_BUS_ADDRESS="+s.Address,
		"HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_RUNTIME_DIR="+runDir,
	)
	gk.Stdin = strings.NewReader(hex.EncodeToString(pass))
	gk.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	p, err = startCmd(dir, "gnome-keyring-daemon", gk)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	if err := s.waitUnlocked(ctx, p); err != nil {
		return nil, err
	}
	return s, nil
}

// waitUnlocked polls until the daemon owns the Secret Service's name and
// its default collection is unlocked.
func (s *secretService) waitUnlocked(ctx context.Context, p *process) error {
	var last error
	for {
		last = s.defaultUnlocked(ctx)
		if last == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("gnome-keyring-daemon exited: %v%s", p.Err(), s.logs())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gnome-keyring-daemon did not serve an unlocked login keyring within %s: %v%s", secretServiceStartTimeout, last, s.logs())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *secretService) defaultUnlocked(ctx context.Context) error {
	var owned bool
	if err := s.conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, ssName).Store(&owned); err != nil {
		return err
	}
	if !owned {
		return errors.New(ssName + " has no owner on the bus")
	}
	var coll dbus.ObjectPath
	if err := s.conn.Object(ssName, ssPath).CallWithContext(ctx, ssService+".ReadAlias", 0, "default").Store(&coll); err != nil {
		return err
	}
	if coll == "/" {
		return errors.New("no default collection yet")
	}
	v, err := s.conn.Object(ssName, coll).GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		return err
	}
	if locked, _ := v.Value().(bool); locked {
		return fmt.Errorf("the default collection %s is locked", coll)
	}
	return nil
}

// keychainItem is one item of the Secret Service, as secret-tool shows it.
type keychainItem struct {
	Label  string
	Attrs  map[string]string
	Secret []byte
}

// Items reads every item whose service attribute is the helper's, with its
// secret, straight from gnome-keyring (not through the helper).
func (s *secretService) Items(ctx context.Context) ([]keychainItem, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	svc := s.conn.Object(ssName, ssPath)
	var unlocked, locked []dbus.ObjectPath
	if err := svc.CallWithContext(ctx, ssService+".SearchItems", 0, map[string]string{"service": keychainService}).Store(&unlocked, &locked); err != nil {
		return nil, fmt.Errorf("SearchItems: %v", err)
	}
	if len(locked) > 0 {
		return nil, fmt.Errorf("%d items of service %s are locked", len(locked), keychainService)
	}
	if len(unlocked) == 0 {
		return nil, nil
	}
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := svc.CallWithContext(ctx, ssService+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		return nil, fmt.Errorf("OpenSession: %v", err)
	}
	defer s.conn.Object(ssName, session).CallWithContext(ctx, "org.freedesktop.Secret.Session.Close", 0)
	// The Secret Service's Secret struct: (session, parameters, value,
	// content type).
	type ssSecret struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}
	var secrets map[dbus.ObjectPath]ssSecret
	if err := svc.CallWithContext(ctx, ssService+".GetSecrets", 0, unlocked, session).Store(&secrets); err != nil {
		return nil, fmt.Errorf("GetSecrets: %v", err)
	}
	var items []keychainItem
	for _, path := range unlocked {
		obj := s.conn.Object(ssName, path)
		label, err := obj.GetProperty(ssItem + ".Label")
		if err != nil {
			return nil, fmt.Errorf("label of %s: %v", path, err)
		}
		attrs, err := obj.GetProperty(ssItem + ".Attributes")
		if err != nil {
			return nil, fmt.Errorf("attributes of %s: %v", path, err)
		}
		it := keychainItem{Secret: secrets[path].Value}
		it.Label, _ = label.Value().(string)
		it.Attrs, _ = attrs.Value().(map[string]string)
		items = append(items, it)
	}
	return items, nil
}

// logs is the tail of both daemons' logs, for an error message.
func (s *secretService) logs() string {
	var b strings.Builder
	for _, p := range s.procs {
		fmt.Fprintf(&b, "\n--- %s (%s), last lines:\n%s", p.name, p.logFile, tail(p.logFile, 20))
	}
	return b.String()
}

// close stops the keyring daemon, then the bus, and removes the socket's
// directory.
func (s *secretService) close() {
	if s.conn != nil {
		s.conn.Close()
	}
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
	s.procs = nil
	if s.sockDir != "" {
		os.RemoveAll(s.sockDir)
	}
}

// startKeychain gives a keychain row its own Secret Service, or ends the
// row: it fails when the tools are missing in CI (CI installs them) and
// is skipped, with the reason, elsewhere.
func (r *row) startKeychain() {
	r.t.Helper()
	r.begin("start a private Secret Service")
	if keychainSkipReason != "" {
		if os.Getenv("CI") != "" {
			r.failf("%s (CI is set, so this is a failure)", keychainSkipReason)
		}
		r.res.Note = keychainSkipReason
		r.t.Skip(keychainSkipReason)
	}
	ss, err := startSecretService(context.Background(), filepath.Join(r.dir, "secret-service"), r.home, filepath.Join(r.dir, "run"), r.credential())
	if err != nil {
		r.failf("failed to start a private Secret Service (dbus-daemon and gnome-keyring-daemon): %v", err)
	}
	r.t.Cleanup(ss.close)
	r.kc = ss
	r.env = append(r.env, "DBUS_SESSION_BUS_ADDRESS="+ss.Address)
	// Every row starts from an empty keychain.
	if items, err := ss.Items(context.Background()); err != nil || len(items) > 0 {
		r.failf("the row's new keyring is not empty: %d items, %v", len(items), err)
	}
}

// expectInKeychain checks, for a keychain row, that each secret is in an
// item of the helper's service in gnome-keyring, read over D-Bus, and in
// no file of the store directory.
func (r *row) expectInKeychain(secrets ...string) {
	r.t.Helper()
	if r.kc == nil {
		return
	}
	items, err := r.kc.Items(context.Background())
	if err != nil {
		r.failf("failed to read gnome-keyring after %q: %v", r.step, err)
	}
	for _, secret := range secrets {
		if !itemsHold(items, secret) {
			r.failf("after %q no item of service %s in gnome-keyring holds the secret (%d bytes) that the helper returned; items: %s",
				r.step, keychainService, len(secret), describeItems(items))
		}
	}
	r.expectNotInFiles(r.storeDir, secrets...)
}

// expectGoneFromKeychain checks, for a keychain row whose helper holds
// nothing, that no secret it returned before is left in gnome-keyring.
func (r *row) expectGoneFromKeychain() {
	r.t.Helper()
	if r.kc == nil {
		return
	}
	items, err := r.kc.Items(context.Background())
	if err != nil {
		r.failf("failed to read gnome-keyring after %q: %v", r.step, err)
	}
	for _, secret := range r.seen {
		if itemsHold(items, secret) {
			r.failf("after %q the helper holds nothing, but gnome-keyring still has a secret (%d bytes) it returned before; items: %s",
				r.step, len(secret), describeItems(items))
		}
	}
}

func itemsHold(items []keychainItem, secret string) bool {
	for _, it := range items {
		if bytes.Contains(it.Secret, []byte(secret)) {
			return true
		}
	}
	return false
}

// describeItems names the items (label, user attribute and secret length,
// never the secret) for a message.
func describeItems(items []keychainItem) string {
	if len(items) == 0 {
		return "(none)"
	}
	var parts []string
	for _, it := range items {
		parts = append(parts, fmt.Sprintf("%q (username %q, %d bytes)", it.Label, it.Attrs["username"], len(it.Secret)))
	}
	return strings.Join(parts, ", ")
}

// reachablePath is a peer's path for a process run as cred: the link's
// target, since another user cannot reach the peers directory in root's
// home.
func reachablePath(name string, cred *syscall.Credential) string {
	path := peers.path(name)
	if cred != nil {
		if p, err := filepath.EvalSymlinks(path); err == nil {
			return p
		}
	}
	return path
}
