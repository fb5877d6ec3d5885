// Package keyring keeps credentials in the OS keychain: the macOS login
// keychain, the Windows Credential Manager, or a Secret Service (GNOME
// Keyring, KWallet, KeePassXC) on Linux, through github.com/zalando/go-keyring,
// which is pure Go. The usual entry point is [New], then the [helper.Store]
// methods; [Store.Probe] tells, within a bounded time, whether a keychain is
// there and unlocked.
//
// # Items
//
// Every item has the service name [DefaultService] ("docker-credential-notation")
// and a user (macOS: account; Windows: the target "docker-credential-notation:USER";
// Secret Service: attribute "username", label "Password for 'USER' on
// 'docker-credential-notation'") that says what it is:
//
//	registry.example.com #7               the secret stored for registry.example.com
//	registry.example.com #7 part 2/3      part of a secret too large for one item
//	(index)                               the index root, with a header line
//	(index) part 2/3 #7                   part of an index too large for one item
//	(journal)                             macOS, Windows: what the last write created
//
// The key (see [helper.ParseServerURL]) appears as it is, or for keys over 128
// bytes shortened and suffixed with a hash. #7 is the generation of the
// write that stored the secret. Items of any other service, or of this
// service with other names, are never read or touched.
//
// # The index
//
// go-keyring cannot enumerate items, so the index, kept in the keychain
// like the secrets, lists every entry as JSON, raw DEFLATE and base64 above
// 2 KiB (about 10 KiB at 1,000 entries):
//
//	{"version":1,"gen":9,"parts":1,"last":"docker.io","oldGen":4,"oldParts":1}
//	{
//	"docker.io":{"serverURL":"https://index.docker.io/v1/","username":"<token>","gen":9,"parts":3},
//	"registry.example.com":{"username":"alice","gen":7}
//	}
//
// The header gives the index's generation and parts, and what the write
// that committed it replaced (here docker.io's secret of generation 4). The
// root is the only source of truth: List reads the index alone, and a
// secret item that it does not name is never returned.
//
// On the Secret Service every item also carries attributes: an entry's
// items "key" (the key as in their names) and "gen", part 1 also "server"
// and "account"; the root "gen", "last" and "erased" (the key its write
// stored or erased). Get there makes one search (the entry's items and the
// roots) and one read (the entry's secret), never reading the index: the
// entry's newest items of a generation no later than the root's are its
// secret, unless the root's write erased it. Elsewhere Get reads the index,
// then the entry's items by name. Either way Get returns exactly what List
// shows. Get reports an entry whose item has disappeared (removed outside
// the helper) as damaged ([ErrDamaged]), never as not found; List still
// shows it, and erasing it works.
//
// # Writes
//
// Writes are serialized between processes by an exclusive lock on
// [LockFileName] in Options.Dir; reads take no lock. A write never modifies
// an item that the current index names: it creates the new secret's items
// and the new index's parts under the new generation's names, and last the
// root, which commits it; then it removes the replaced items (and on the
// Secret Service the old root: the new one is a new item beside it, and
// the newest root wins). A crash or failure before the commit leaves the
// old entry in place; after it, the new one. Either way the next write first
// removes what was left behind: the items that the root's header names as
// replaced, roots older than the newest, and the items of a write that
// never committed, of the generation after the root's, which the Secret
// Service finds by their "gen" attribute and macOS and Windows by the
// journal that such a write wrote first. So a secret that was replaced or
// erased does not linger. Storing a credential that is already stored
// writes nothing. A reader that finds an item gone because a writer
// replaced it meanwhile reads again.
//
// # Size limits
//
// macOS items hold about 3000 bytes (go-keyring hands `security -i` a
// 4096-byte line with the password in base64) and Windows items 2560 bytes;
// the Secret Service has no limit. Secrets and the index are split into
// parts that fit (see limits.go, where the limits are explicit functions of
// the platform), so secrets up to the protocol's 1 MiB work everywhere.
// Options.ChunkSize lowers the part size, for tests.
//
// # Failures
//
// go-keyring calls take no context, and a Secret Service can hang (a D-Bus
// activation that never completes, an unlock prompt nobody answers), so each
// call runs in a goroutine and the store stops waiting at the context's
// deadline, or after Options.Timeout (default [DefaultTimeout]). A failed or
// timed-out call is then diagnosed (on Linux: is there a session bus, a
// Secret Service, a default keyring, is it locked?) into an error wrapping
// [ErrUnavailable], [ErrLocked] or [ErrTimeout], with a hint that names the
// fix. Only an entry that the index does not have is [helper.ErrNotFound]. On Linux the store
// never lets go-keyring start a D-Bus session of its own (godbus would run
// dbus-launch and leave a bus and a locked keyring daemon behind).
//
// Reference: https://specifications.freedesktop.org/secret-service-spec/latest/
// (Secret Service API); https://github.com/zalando/go-keyring (v0.2.8).
package keyring
