//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

// The Secret Service (freedesktop.org) over the D-Bus session bus, as
// go-keyring uses it on Linux and the BSDs.
//
// Reference: https://specifications.freedesktop.org/secret-service-spec/latest/

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	dbus "github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
	ss "github.com/zalando/go-keyring/secret_service"

	"github.com/notaryproject/docker-credential-notation/helper"
)

const (
	keychainName = "Secret Service"
	timeoutHint  = "check that the Secret Service (gnome-keyring-daemon, KWallet or KeePassXC) is running and responding, and answer its unlock prompt if it shows one"
	failureHint  = "check that the Secret Service (gnome-keyring-daemon, KWallet or KeePassXC) is running and its default keyring is unlocked"
	// removeItemsHowTo says how a user removes the items of a service (%s).
	removeItemsHowTo = "`secret-tool clear service %s`, or in Seahorse"
)

// The Secret Service's names, as go-keyring uses them.
const (
	ssName             = "org.freedesktop.secrets"
	ssPath             = dbus.ObjectPath("/org/freedesktop/secrets")
	ssInterface        = "org.freedesktop.Secret.Service"
	ssCollection       = "org.freedesktop.Secret.Collection"
	ssLoginCollection  = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	dbusPropertiesGet  = "org.freedesktop.DBus.Properties.Get"
	envSessionBus      = "DBUS_SESSION_BUS_ADDRESS"
	unlockHint         = "unlock the keyring (log in to the desktop, or open Seahorse, \"Passwords and Keys\", and unlock \"Login\"), " + backendHint
	noSecretService    = "start a Secret Service (gnome-keyring-daemon --components=secrets, KWallet or KeePassXC) in this session, " + backendHint
	noSessionBusHint   = "run the helper in a desktop session, or start one with dbus-run-session and gnome-keyring-daemon --unlock, " + backendHint
	noDefaultCollHint  = "create a default keyring (Seahorse: File > New > Password Keyring, then \"Set as default\"), " + backendHint
	secretServiceNoAns = "the Secret Service does not answer"
)

// systemKeyring is go-keyring, guarded so that it never starts a D-Bus
// session of its own.
type systemKeyring struct{}

// sessionBusAddress returns the session bus address as godbus finds it,
// without its last resort: with no address, godbus runs dbus-launch, which
// starts (and leaves behind) a new session bus and, by D-Bus activation, a
// fresh gnome-keyring-daemon whose keyring is locked, so every call fails
// anyway after leaking two processes.
func sessionBusAddress() (string, error) {
	if a := os.Getenv(envSessionBus); a != "" && a != "autolaunch:" {
		return a, nil
	}
	// godbus's discovery: /run/user/<uid>/bus is the bus socket, or
	// /run/user/<uid>/dbus-session holds the address.
	run := filepath.Join("/run/user", strconv.Itoa(os.Getuid()))
	if _, err := os.Stat(filepath.Join(run, "bus")); err == nil {
		return "unix:path=" + dbus.EscapeBusAddressValue(filepath.Join(run, "bus")), nil
	}
	if b, err := os.ReadFile(filepath.Join(run, "dbus-session")); err == nil {
		if a, ok := strings.CutPrefix(strings.TrimSpace(string(b)), envSessionBus+"="); ok && a != "" {
			return a, nil
		}
	}
	return "", helper.WithHint(
		fmt.Errorf("%w: there is no D-Bus session bus (%s is not set)", ErrUnavailable, envSessionBus),
		noSessionBusHint)
}

func (systemKeyring) Set(service, user, password string) error {
	if _, err := sessionBusAddress(); err != nil {
		return err
	}
	return gokeyring.Set(service, user, password)
}

func (systemKeyring) Get(service, user string) (string, error) {
	if _, err := sessionBusAddress(); err != nil {
		return "", err
	}
	return gokeyring.Get(service, user)
}

func (systemKeyring) Delete(service, user string) error {
	if _, err := sessionBusAddress(); err != nil {
		return err
	}
	return gokeyring.Delete(service, user)
}

// Diagnose walks the path go-keyring takes, on a private connection and
// without prompting: the session bus, the Secret Service on it, the
// collection go-keyring uses ("login" if there is one, else the default
// alias), and whether it is locked.
func (systemKeyring) Diagnose(ctx context.Context) error {
	addr, err := sessionBusAddress()
	if err != nil {
		return err
	}
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return helper.WithHint(fmt.Errorf("%w: the D-Bus session bus at %s does not answer", ErrTimeout, addr), noSessionBusHint)
		}
		return helper.WithHint(fmt.Errorf("%w: cannot connect to the D-Bus session bus at %s: %v", ErrUnavailable, addr, err), noSessionBusHint)
	}
	defer conn.Close()
	hung := func(err error) error {
		if ctx.Err() != nil {
			return helper.WithHint(fmt.Errorf("%w: %s", ErrTimeout, secretServiceNoAns), timeoutHint+", "+backendHint)
		}
		return nil
	}

	var owned bool
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.NameHasOwner", 0, ssName).Store(&owned); err != nil {
		if h := hung(err); h != nil {
			return h
		}
		return helper.WithHint(fmt.Errorf("%w: the D-Bus session bus at %s does not work: %v", ErrUnavailable, addr, err), noSessionBusHint)
	}
	if !owned {
		var activatable []string
		if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.ListActivatableNames", 0).Store(&activatable); err != nil {
			if h := hung(err); h != nil {
				return h
			}
		}
		if !slices.Contains(activatable, ssName) {
			return helper.WithHint(fmt.Errorf("%w: no Secret Service (%s) is running on the D-Bus session bus", ErrUnavailable, ssName), noSecretService)
		}
		// Activatable: the calls below start it, as go-keyring's would.
	}

	svc := conn.Object(ssName, ssPath)
	var collections []dbus.ObjectPath
	if err := svc.CallWithContext(ctx, dbusPropertiesGet, 0, ssInterface, "Collections").Store(&collections); err != nil {
		if h := hung(err); h != nil {
			return h
		}
		return helper.WithHint(fmt.Errorf("%w: the Secret Service (%s) fails: %v", ErrUnavailable, ssName, err), noSecretService)
	}
	coll := ssLoginCollection
	if !slices.Contains(collections, coll) {
		if err := svc.CallWithContext(ctx, ssInterface+".ReadAlias", 0, "default").Store(&coll); err != nil {
			if h := hung(err); h != nil {
				return h
			}
			return helper.WithHint(fmt.Errorf("%w: the Secret Service (%s) fails: %v", ErrUnavailable, ssName, err), noSecretService)
		}
		if coll == "/" || coll == "" {
			return helper.WithHint(fmt.Errorf("%w: the Secret Service has no default keyring (no \"login\" collection and no \"default\" alias)", ErrUnavailable), noDefaultCollHint)
		}
	}
	var locked bool
	if err := conn.Object(ssName, coll).CallWithContext(ctx, dbusPropertiesGet, 0, ssCollection, "Locked").Store(&locked); err != nil {
		if h := hung(err); h != nil {
			return h
		}
		return helper.WithHint(fmt.Errorf("%w: the Secret Service (%s) fails on keyring %s: %v", ErrUnavailable, ssName, coll, err), noSecretService)
	}
	if locked {
		return helper.WithHint(fmt.Errorf("%w: the Secret Service keyring %s is locked", ErrLocked, coll), unlockHint)
	}
	return nil
}

// The Secret Service's item calls (itemKeyring), on the collection
// go-keyring uses. Each one does what go-keyring does before any call (find
// the login collection, else the default alias, and unlock it, which may
// show a prompt on a desktop), then its own calls.

const ssItemInterface = "org.freedesktop.Secret.Item"

var _ itemKeyring = systemKeyring{}

// openCollection connects as go-keyring does and unlocks its collection.
func openCollection() (*ss.SecretService, dbus.BusObject, error) {
	if _, err := sessionBusAddress(); err != nil {
		return nil, nil, err
	}
	svc, err := ss.NewSecretService()
	if err != nil {
		return nil, nil, err
	}
	coll := svc.GetLoginCollection()
	if err := svc.Unlock(coll.Path()); err != nil {
		return nil, nil, err
	}
	return svc, coll, nil
}

// isGone reports whether err says that an item does not exist (any more).
func isGone(err error) bool {
	var e dbus.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Name {
	case "org.freedesktop.Secret.Error.NoSuchObject", "org.freedesktop.DBus.Error.UnknownObject",
		"org.freedesktop.DBus.Error.UnknownMethod", "org.freedesktop.DBus.Error.UnknownInterface":
		return true
	}
	return false
}

// Search makes its calls at once rather than one after the other: on a
// busy machine each round trip to the Secret Service costs a wakeup of
// dbus-daemon and of gnome-keyring-daemon, and a Get pays for every one.
// It asks the "login" collection whether it is locked alongside the
// searches; if there is no such collection, or it is locked, it does what
// go-keyring does instead (the default alias, and Unlock, which may prompt).
func (systemKeyring) Search(queries ...map[string]string) ([][]Item, error) {
	if _, err := sessionBusAddress(); err != nil {
		return nil, err
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		return nil, err
	}
	coll := conn.Object(ssName, ssLoginCollection)
	lockedCall := coll.Go(dbusPropertiesGet, 0, nil, ssCollection, "Locked")
	calls := make([]*dbus.Call, len(queries))
	for i, q := range queries {
		calls[i] = coll.Go(ssCollection+".SearchItems", 0, nil, q)
	}
	var locked bool
	lerr := (<-lockedCall.Done).Store(&locked)
	for _, c := range calls {
		<-c.Done
	}
	if lerr != nil || locked {
		svc, coll, err := openCollection()
		if err != nil {
			return nil, err
		}
		for i, q := range queries {
			calls[i] = coll.Go(ssCollection+".SearchItems", 0, nil, q)
			<-calls[i].Done
		}
		conn = svc.Conn
	}
	paths := make([][]dbus.ObjectPath, len(queries))
	var attrCalls []*dbus.Call
	for i, c := range calls {
		if err := c.Store(&paths[i]); err != nil {
			return nil, err
		}
		for _, p := range paths[i] {
			attrCalls = append(attrCalls, conn.Object(ssName, p).Go(dbusPropertiesGet, 0, nil, ssItemInterface, "Attributes"))
		}
	}
	res := make([][]Item, len(queries))
	n := 0
	for i := range queries {
		for _, p := range paths[i] {
			var attrs map[string]string
			err := (<-attrCalls[n].Done).Store(&attrs)
			n++
			if isGone(err) {
				continue // removed since the search
			}
			if err != nil {
				return nil, err
			}
			res[i] = append(res[i], Item{ID: string(p), Attrs: attrs})
		}
	}
	return res, nil
}

// plainSession is the Secret Service session that Secrets uses: opened
// once per connection and kept (the Secret Service closes it when the
// connection closes), which saves a Get a round trip to open it.
var plainSession struct {
	sync.Mutex
	conn *dbus.Conn
	path dbus.ObjectPath
}

// sessionOn returns the kept session on conn, opening it if needed; fresh
// says whether it was just opened.
func sessionOn(conn *dbus.Conn) (path dbus.ObjectPath, fresh bool, err error) {
	plainSession.Lock()
	defer plainSession.Unlock()
	if plainSession.conn == conn && plainSession.path != "" {
		return plainSession.path, false, nil
	}
	var ignored dbus.Variant
	if err := conn.Object(ssName, ssPath).Call(ssInterface+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &path); err != nil {
		return "", false, err
	}
	plainSession.conn, plainSession.path = conn, path
	return path, true, nil
}

func dropSession(path dbus.ObjectPath) {
	plainSession.Lock()
	defer plainSession.Unlock()
	if plainSession.path == path {
		plainSession.conn, plainSession.path = nil, ""
	}
}

func (systemKeyring) Secrets(ids []string) (map[string]string, error) {
	if _, err := sessionBusAddress(); err != nil {
		return nil, err
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		return nil, err
	}
	paths := make([]dbus.ObjectPath, len(ids))
	for i, id := range ids {
		paths[i] = dbus.ObjectPath(id)
	}
	for {
		session, fresh, err := sessionOn(conn)
		if err != nil {
			return nil, err
		}
		var got map[dbus.ObjectPath]ss.Secret
		err = conn.Object(ssName, ssPath).Call(ssInterface+".GetSecrets", 0, paths, session).Store(&got)
		if err != nil && !fresh {
			// The kept session may be gone (a restarted Secret Service):
			// open a new one and ask again, once.
			dropSession(session)
			continue
		}
		if err != nil {
			return nil, err
		}
		out := make(map[string]string, len(got))
		for p, sec := range got {
			out[string(p)] = string(sec.Value)
		}
		return out, nil
	}
}

func (systemKeyring) Create(label string, attrs map[string]string, secret string) error {
	svc, coll, err := openCollection()
	if err != nil {
		return err
	}
	session, err := svc.OpenSession()
	if err != nil {
		return err
	}
	defer func() { _ = svc.Close(session) }()
	return svc.CreateItem(coll, label, attrs, ss.NewSecret(session.Path(), secret))
}

func (systemKeyring) Remove(id string) error {
	if _, err := sessionBusAddress(); err != nil {
		return err
	}
	svc, err := ss.NewSecretService()
	if err != nil {
		return err
	}
	if err := svc.Delete(dbus.ObjectPath(id)); err != nil && !isGone(err) {
		return err
	}
	return nil
}
