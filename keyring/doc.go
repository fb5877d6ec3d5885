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
// # Layout 2: the Secret Service
//
// The above is layout 1, kept on macOS and Windows, where an item is found
// only by its name. On a Secret Service, which finds items by attributes,
// the Store keeps layout 2 (layout2.go), so that Get reads the entry's own
// items and not the index (about 60 KiB at 1,000 entries, which godbus
// decodes at about 0.2 µs a byte):
//
//   - An entry's items keep their names and gain the attributes key (the
//     key as in their names) and gen (the generation); part 1 also carries
//     server (the server URL) and account (the username).
//   - The index root, "(index)", holds a header line of version 2 and the
//     whole index (raw DEFLATE and base64 above 2 KiB: about 10 KiB at 1,000
//     entries), never split. Its attributes say its generation (gen), the
//     key its write stored or erased (last, and erased "true"), the items
//     that write replaced (old, "GEN PARTS"), and, while entries written by
//     layout 1 remain, the generation up to which they were (legacy).
//   - There is no journal. A write creates the secret's items under the new
//     generation, then a new root (a new item, since its attributes
//     differ): the commit point. Then it removes the old root and the
//     replaced items. The next write first removes whatever a failed one
//     left: items of the generation after the current root's (a write that
//     never committed), roots older than the newest, and the items the
//     newest root's write replaced.
//   - Get makes one search (the entry's items by key, and the roots) and
//     one read (the entry's secret). The newest root is the commit point:
//     the entry's items of the newest generation no later than the root's
//     are its secret, unless the root's write erased it; items of a later
//     generation belong to a write that has not committed and are never
//     returned. So Get and List agree at every moment, as in layout 1. An
//     item gone between the search and the read (a writer replaced the
//     entry) means searching again. An entry that layout 1 wrote, which has
//     no key attribute, is found through the index while the root says
//     such entries remain.
//   - List makes one search and one read (the root).
//
// A keychain of layout 1 reads as it is; the first write converts it: it
// finishes the journal's write, removes the journal, and commits a root of
// layout 2. Entries of layout 1 are converted when they are next stored or
// erased. A root of layout 2 makes an older docker-credential-notation
// report a newer index version.
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
