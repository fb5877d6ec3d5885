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
//	(index)                               the index, with a header line
//	(index) part 2/3 #7                   part of an index too large for one item
//	(journal)                             the last write: what it created and replaced
//
// The key (see [helper.ParseServerURL]) appears as it is, or for keys over 128
// bytes shortened and suffixed with a hash. #7 is the generation of the
// write that stored the secret. Items of any other service, or of this
// service with other names, are never read or touched.
//
// # The index
//
// go-keyring cannot enumerate items, so the index item, kept in the
// keychain like the secrets, lists every entry as JSON:
//
//	{"version":1,"gen":9,"parts":1}
//	{
//	"docker.io":{"serverURL":"https://index.docker.io/v1/","username":"<token>","gen":9,"parts":3},
//	"registry.example.com":{"username":"alice","gen":7}
//	}
//
// (the server URL appears when it differs from the key, the number of parts
// when it is not 1).
// The index is the only source of truth. List reads it alone (one keychain
// call); Get reads it, then the entry's secret (two calls), so Get returns
// exactly what List shows, and a secret item that the index does not name is
// never returned. Get reports an entry whose secret item has disappeared
// (removed outside the helper) as damaged ([ErrDamaged]), never as not
// found; List still shows it, since checking every item would cost one call
// per entry, and erasing it works.
//
// # Writes
//
// Writes are serialized between processes by an exclusive lock on
// [LockFileName] in Options.Dir; reads take no lock. A write never modifies
// an item that the current index names: it writes a journal item (what it
// creates and replaces), the new secret under the new generation's names,
// the parts of the new index, and last the index root, which commits it;
// then it removes the replaced items. A crash or failure before the commit
// leaves the old entry in place; after it, the new one. Either way the next
// write reads the journal and removes what was left behind, so a secret that
// was replaced or erased does not linger. (The journal item stays, to be
// overwritten by the next write: removing it would cost a keychain write,
// and gnome-keyring rewrites its whole keyring file on every write.) Storing
// a credential that is already stored writes nothing. A reader that finds an
// item gone because a writer replaced it meanwhile reads the index again.
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
// fix. Only a missing index entry is [helper.ErrNotFound]. On Linux the store
// never lets go-keyring start a D-Bus session of its own (godbus would run
// dbus-launch and leave a bus and a locked keyring daemon behind).
//
// Reference: https://specifications.freedesktop.org/secret-service-spec/latest/
// (Secret Service API); https://github.com/zalando/go-keyring (v0.2.8).
package keyring
