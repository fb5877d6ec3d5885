package keyring

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/filelock"
)

// DefaultService is the service name of every item the helper keeps.
const DefaultService = "docker-credential-notation"

// DefaultTimeout bounds an operation whose context has no deadline: a
// keychain answers in milliseconds, so a few seconds without an answer means
// it is hung or waiting on a prompt nobody will answer.
const DefaultTimeout = 5 * time.Second

// DefaultProbeTimeout bounds Probe when its context has no deadline.
const DefaultProbeTimeout = 2 * time.Second

// LockFileName is the lock file, in Options.Dir, that serializes writes.
const LockFileName = "keyring.lock"

// ErrDamaged is wrapped by the errors for keychain content that cannot be
// used: an index item that is malformed or missing a part, or an entry whose
// secret item is gone (removed outside the helper). The content is left as
// it is.
var ErrDamaged = errors.New("the keychain entries are damaged")

// Options configures a Store.
type Options struct {
	// Dir holds the lock file (LockFileName) that serializes writes between
	// processes; it is created with mode 0700 on the first write. Nothing
	// secret is kept there. Required.
	Dir string
	// Service is the service name of every item. Empty means
	// DefaultService.
	Service string
	// Timeout bounds each operation (Get, Put, Delete, List) whose context
	// has no deadline. Zero means DefaultTimeout.
	Timeout time.Duration
	// ChunkSize, if positive, caps the bytes of data per keychain item below
	// the platform's own limit (none on Linux), so that tests exercise the
	// path of secrets and indexes split over several items. Zero means the
	// platform's limit.
	ChunkSize int
	// Keyring is the keychain. Nil means the system's, through go-keyring.
	Keyring Keyring
}

// Store keeps credentials in the OS keychain. See the package documentation.
type Store struct {
	kr Keyring
	// items is kr, if it can search by attributes (the Secret Service).
	items    itemKeyring
	service  string
	lockPath string
	timeout  time.Duration
	chunk    int
	// goos is the platform whose item size limits apply; tests set another
	// to run the macOS and Windows limits on Linux.
	goos string
}

var _ helper.Store = (*Store)(nil)

// New returns the store described by opts. It touches neither the keychain
// nor the disk.
func New(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("keyring: no lock directory")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("invalid lock directory: %v", err)
	}
	s := &Store{
		kr:       opts.Keyring,
		service:  opts.Service,
		lockPath: filepath.Join(dir, LockFileName),
		timeout:  opts.Timeout,
		chunk:    opts.ChunkSize,
		goos:     runtime.GOOS,
	}
	if s.kr == nil {
		s.kr = systemKeyring{}
	}
	s.items, _ = s.kr.(itemKeyring)
	if s.service == "" {
		s.service = DefaultService
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.chunk < 0 {
		s.chunk = 0
	} else if s.chunk > 0 && s.chunk < minPart {
		return nil, fmt.Errorf("keyring: chunk size %d is below the minimum of %d bytes", s.chunk, minPart)
	}
	return s, nil
}

// Describe says where credentials are kept.
func (s *Store) Describe() string {
	return fmt.Sprintf("%s, service %q", s.describeKeychain(), s.service)
}

func (s *Store) describeKeychain() string { return keychainName }

func (s *Store) newCaller() *caller {
	return &caller{kr: s.kr, items: s.items, service: s.service}
}

// withTimeout applies the store's timeout to a context without a deadline.
func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.timeout)
}

// capacity is the room for data in an item named user that also holds
// overhead bytes of its own (the root's header line).
func (s *Store) capacity(user string, overhead int) int {
	c := itemCapacity(s.goos, s.service, user)
	if c != noLimit {
		c -= overhead
	}
	if s.chunk > 0 && s.chunk < c {
		c = s.chunk
	}
	return c
}

// Probe reports, within ctx's deadline or DefaultProbeTimeout, whether the
// keychain is reachable and usable, without prompting the user where the
// platform allows (on Linux it checks that the Secret Service's keyring is
// unlocked rather than asking to unlock it). It returns nil, or an error
// wrapping ErrUnavailable, ErrLocked, ErrTimeout or none of them, with a
// hint.
func (s *Store) Probe(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultProbeTimeout)
		defer cancel()
	}
	if _, ok := s.kr.(Diagnoser); ok {
		if err := s.runDiagnose(ctx); err != nil {
			return fmt.Errorf("failed to reach the %s: %w", s.describeKeychain(), err)
		}
	}
	var err error
	if s.items != nil {
		// A search answers as well as a read, without the index's bytes.
		_, err = s.newCaller().search(ctx, s.rootQuery())
	} else {
		_, err = s.newCaller().get(ctx, indexUser)
	}
	if err == nil || isNotFound(err) {
		return nil
	}
	return s.explain(ctx, "reach the "+s.describeKeychain(), err)
}

// Get implements helper.Store. On the Secret Service it finds the entry's
// items by their key attribute, in one search and one read, without the
// index (see getBySearch); elsewhere it reads the index, then the entry's
// items by the names the index gives.
func (s *Store) Get(ctx context.Context, key helper.Key) (helper.Credentials, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if s.items != nil {
		return s.getBySearch(ctx, key)
	}
	c := s.newCaller()
	var missedGen uint64
	for range maxRereads {
		st, err := s.readState(ctx, c)
		if err != nil {
			return helper.Credentials{}, err
		}
		e, ok := st.idx.Entries[key.String()]
		if !ok {
			return helper.Credentials{}, fmt.Errorf("%s: %w", key, helper.ErrNotFound)
		}
		secret, missing, err := s.readSecret(ctx, c, key, e)
		if err != nil {
			return helper.Credentials{}, err
		}
		if missing == "" {
			return helper.Credentials{ServerURL: e.ServerURL, Username: e.Username, Secret: secret}, nil
		}
		// The index names an item that is gone. A writer may have replaced
		// the entry (and removed its old items) since the index was read:
		// read it again. If it still names the same items, they are lost.
		if missedGen == e.Gen {
			return helper.Credentials{}, s.missingItem(key, e.ServerURL, missing)
		}
		missedGen = e.Gen
	}
	return helper.Credentials{}, s.tooManyRereads("get credentials for " + key.String())
}

// missingItem reports an entry whose item was removed by someone else;
// serverURL is what to log out of.
func (s *Store) missingItem(key helper.Key, serverURL, user string) error {
	return helper.WithHint(
		fmt.Errorf("failed to get credentials for %s: %w: the %s item %q that holds its secret is missing (removed outside docker-credential-notation?)",
			key, ErrDamaged, s.describeKeychain(), user),
		fmt.Sprintf("erase the entry (docker logout %s) and log in again", serverURL))
}

// tooManyRereads reports a reader that writers kept overtaking.
func (s *Store) tooManyRereads(doing string) error {
	return helper.WithHint(fmt.Errorf("failed to %s: other processes replaced it %d times while it was read", doing, maxRereads),
		"retry; if it persists, look for a process that stores credentials in a loop")
}

// readSecret reads the items of e's secret. missing names the first item
// that the keychain does not have, if any.
func (s *Store) readSecret(ctx context.Context, c *caller, key helper.Key, e entry) (secret, missing string, err error) {
	parts, missing, err := c.readNamed(ctx, entryUsers(nameKey(key.String()), e.Gen, e.Parts))
	if err != nil {
		return "", "", s.explain(ctx, "get credentials for "+key.String(), err)
	}
	if missing != "" {
		return "", missing, nil
	}
	secret, err = joinBounded(parts, helper.MaxPayload)
	if err != nil {
		return "", "", helper.WithHint(
			fmt.Errorf("failed to get credentials for %s: %w: its secret is larger than %d bytes", key, ErrDamaged, helper.MaxPayload),
			fmt.Sprintf("erase the entry (docker logout %s) and log in again", key))
	}
	return secret, "", nil
}

// joinBounded joins parts unless they hold more than limit bytes, which
// only items written by another program can.
func joinBounded(parts []string, limit int) (string, error) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n > limit {
		return "", fmt.Errorf("%d bytes", n)
	}
	return strings.Join(parts, ""), nil
}

// List implements helper.Store. It reads the index: one search and one
// read on the Secret Service, one read per item of the index elsewhere
// (one for up to about 200 entries).
func (s *Store) List(ctx context.Context) (map[string]string, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	st, err := s.readState(ctx, s.newCaller())
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(st.idx.Entries))
	for _, e := range st.idx.Entries {
		m[e.ServerURL] = e.Username
	}
	return m, nil
}

// state is what a reader of the index finds.
type state struct {
	// header is the root's header; its Gen is 0 for an empty keychain.
	header rootHeader
	idx    *index
	// On the Secret Service: rootID is the root's item, stale the other
	// roots, which a writer removes.
	rootID string
	stale  []string
}

// errRootGone means that the root went away while it was read: a writer
// committed another.
var errRootGone = errors.New("the index root was replaced while it was read")

// readState reads the root and the index's other parts. A part missing
// because a writer committed a new index since the root was read means
// reading again; only a part missing from an unchanged root means damage.
// A keychain without a root is empty.
func (s *Store) readState(ctx context.Context, c *caller) (*state, error) {
	doing := "read the index of the " + s.describeKeychain()
	var missedGen uint64
	for range maxRereads {
		st, first, err := s.readRoot(ctx, c)
		if errors.Is(err, errRootGone) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if st.idx != nil {
			return st, nil // empty
		}
		h := st.header
		rest, missing, err := c.readNamed(ctx, indexPartUsers(h.Gen, h.Parts))
		if err != nil {
			return nil, s.explain(ctx, doing, err)
		}
		if missing != "" {
			if missedGen == h.Gen {
				return nil, s.indexError(damagedf("its item %q is missing", missing))
			}
			missedGen = h.Gen
			continue
		}
		// Bounded: see maxIndexSize.
		doc, err := joinBounded(append([]string{first}, rest...), maxIndexSize)
		if err != nil {
			return nil, s.indexError(damagedf("it is larger than %d MiB", maxIndexSize>>20))
		}
		if st.idx, err = decodeIndex(h, doc); err != nil {
			return nil, s.indexError(err)
		}
		return st, nil
	}
	return nil, s.tooManyRereads(doing)
}

// readRoot reads the root: its header, and its part of the document. For
// an empty keychain it returns a state with an empty index.
func (s *Store) readRoot(ctx context.Context, c *caller) (*state, string, error) {
	doing := "read the index of the " + s.describeKeychain()
	empty := &state{idx: &index{Entries: map[string]entry{}}}
	var st state
	var secret string
	var attrs *rootAttrs
	if c.items == nil {
		v, err := c.get(ctx, indexUser)
		if isNotFound(err) {
			return empty, "", nil
		}
		if err != nil {
			return nil, "", s.explain(ctx, doing, err)
		}
		secret = v
	} else {
		res, err := c.search(ctx, s.rootQuery())
		if err != nil {
			return nil, "", s.explain(ctx, doing, err)
		}
		attrs, st.stale, err = sortRoots(res[0])
		if err != nil {
			return nil, "", s.indexError(err)
		}
		if attrs == nil {
			return empty, "", nil
		}
		secrets, err := c.secrets(ctx, []string{attrs.id})
		if err != nil {
			return nil, "", s.explain(ctx, doing, err)
		}
		v, ok := secrets[attrs.id]
		if !ok {
			return nil, "", errRootGone
		}
		st.rootID, secret = attrs.id, v
	}
	h, first, err := parseRootHeader(secret)
	if err != nil {
		return nil, "", s.indexError(err)
	}
	if attrs != nil && (attrs.gen != h.Gen || attrs.last != h.Last || attrs.erased != h.Erased) {
		return nil, "", s.indexError(damagedf("the index item %q has attributes that disagree with its header", indexUser))
	}
	st.header = h
	return &st, first, nil
}

// indexError reports an index that cannot be used. Writes refuse to replace
// it, so nothing more is lost.
func (s *Store) indexError(err error) error {
	var v *errVersion
	if errors.As(err, &v) {
		return helper.WithHint(fmt.Errorf("failed to read the index of the %s: %w", s.describeKeychain(), err),
			"the entries were written by a newer docker-credential-notation; upgrade it")
	}
	return helper.WithHint(fmt.Errorf("failed to read the index of the %s: %w", s.describeKeychain(), err),
		"the keychain items of docker-credential-notation were modified by another program and were left as they are; remove them ("+fmt.Sprintf(removeItemsHowTo, s.service)+") and log in again")
}

// Put implements helper.Store.
func (s *Store) Put(ctx context.Context, key helper.Key, c helper.Credentials) error {
	return s.write(ctx, key, &c)
}

// Delete implements helper.Store.
func (s *Store) Delete(ctx context.Context, key helper.Key) error {
	return s.write(ctx, key, nil)
}

// write stores c under key, or erases key if c is nil, as one transaction
// under the store lock (see begin and commit).
func (s *Store) write(ctx context.Context, key helper.Key, c *helper.Credentials) error {
	doing := "store credentials for " + key.String()
	if c == nil {
		doing = "erase credentials for " + key.String()
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	cl, unlock, err := s.lock(ctx, doing)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := s.begin(ctx, cl)
	if err != nil {
		return err
	}

	k := key.String()
	name := nameKey(k)
	old, had := st.idx.Entries[k]
	if c == nil && !had {
		return fmt.Errorf("%s: %w", key, helper.ErrNotFound)
	}
	if c != nil && had && old.ServerURL == c.ServerURL && old.Username == c.Username {
		// Reads cost far less than writes: skip storing what is stored.
		if secret, missing, err := s.readSecret(ctx, cl, key, old); err == nil && missing == "" && secret == c.Secret {
			return nil
		}
	}
	gen := st.idx.Gen + 1
	entries := maps.Clone(st.idx.Entries)
	h := rootHeader{Gen: gen, Last: name, Erased: c == nil}
	if had {
		h.OldGen, h.OldParts = old.Gen, old.Parts
	}
	var items []newItem
	if c != nil {
		if items, err = s.secretItems(name, gen, *c); err != nil {
			return fmt.Errorf("failed to %s: %v", doing, err)
		}
		entries[k] = entry{ServerURL: c.ServerURL, Username: c.Username, Gen: gen, Parts: len(items)}
	} else {
		delete(entries, k)
	}
	return s.commit(ctx, cl, st, h, entries, items, doing)
}

// newItem is an item that a write creates.
type newItem struct {
	user   string
	attrs  map[string]string
	secret string
}

// secretItems returns the items that hold c's secret for the write of
// generation gen: at least one, which on the Secret Service carries the
// server URL and username for Get.
func (s *Store) secretItems(name string, gen uint64, c helper.Credentials) ([]newItem, error) {
	parts, err := split(c.Secret, func(i, n int) int { return s.capacity(entryUser(name, gen, i, n), 0) })
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		parts = []string{""} // an empty secret still has an item
	}
	items := make([]newItem, len(parts))
	g := strconv.FormatUint(gen, 10)
	for i, p := range parts {
		items[i] = newItem{user: entryUser(name, gen, i+1, len(parts)), attrs: map[string]string{attrKey: name, attrGen: g}, secret: p}
		if i == 0 {
			items[i].attrs[attrServer], items[i].attrs[attrAccount] = c.ServerURL, c.Username
		}
	}
	return items, nil
}

// begin starts a write, under the store lock: it reads the index and
// removes whatever the last write left behind: the items that the root's
// write replaced (named by its header), the roots other than the newest
// (Secret Service), and the items of a write that never committed (of the
// generation after the root's: found by their attribute on the Secret
// Service, named by the journal elsewhere). Items already gone are fine:
// usually the last write removed them itself.
func (s *Store) begin(ctx context.Context, cl *caller) (*state, error) {
	st, err := s.readState(ctx, cl)
	if err != nil {
		return nil, err
	}
	var users []string
	if st.header.Gen > 0 {
		users = st.header.replaced()
	}
	var uncommitted []map[string]string
	if cl.items != nil {
		uncommitted = append(uncommitted, map[string]string{attrService: s.service, attrGen: strconv.FormatUint(st.idx.Gen+1, 10)})
	} else {
		raw, err := cl.get(ctx, journalUser)
		if err != nil && !isNotFound(err) {
			return nil, s.explain(ctx, "read the journal of the "+s.describeKeychain(), err)
		}
		// A journal that names nothing usable is overwritten by this write.
		if j, err := parseJournal(raw); err == nil {
			users = append(users, j.uncommitted(st.idx.Gen)...)
		}
	}
	if err := cl.removeItems(ctx, users, st.stale, uncommitted...); err != nil {
		return nil, s.explain(ctx, "remove what an interrupted write left behind", err)
	}
	st.stale = nil
	return st, nil
}

// commit finishes a write begun over st that creates items and commits an
// index of entries, whose root has header h (Gen, and what the write
// replaces):
//
//  1. Where the keychain cannot search, write the journal, naming the
//     items this write creates (then they are all of one key).
//  2. Write the items, then the index's parts other than the root, all
//     under names of the new generation, so nothing that the current
//     index names is touched.
//  3. Write the root: the commit point. Readers see the old entries before
//     it and the new ones after it, never a mix. (On the Secret Service
//     the new root is a new item beside the old, since its attributes
//     differ, and the newest root wins.)
//  4. Remove the old root (Secret Service) and the replaced items. Should
//     that fail, the next write's begin does it.
//
// A crash or a keychain failure at any step leaves the old state readable,
// or the new one, plus items that the next write's begin removes.
func (s *Store) commit(ctx context.Context, cl *caller, st *state, h rootHeader, entries map[string]entry, items []newItem, doing string) error {
	h.Version = formatVersion
	if st.idx.Parts > 1 {
		h.OldIndexParts = st.idx.Parts
	}
	doc, encoding, err := encodeIndex(entries)
	if err != nil {
		return fmt.Errorf("failed to %s: failed to encode the index: %v", doing, err)
	}
	h.Encoding = encoding
	parts, err := split(doc, func(i, n int) int {
		if i > 1 {
			return s.capacity(indexPartUser(h.Gen, i, n), 0)
		}
		hn := h
		hn.Parts = n
		return s.capacity(indexUser, len(hn.line()))
	})
	if err != nil {
		return fmt.Errorf("failed to %s: failed to split the index: %v", doing, err)
	}
	if len(parts) == 0 {
		parts = []string{""}
	}
	h.Parts = len(parts)
	g := strconv.FormatUint(h.Gen, 10)

	if cl.items == nil {
		j := &journal{Version: formatVersion, Gen: h.Gen, Name: h.Last, Parts: len(items), IndexParts: h.Parts}
		if err := cl.set(ctx, journalUser, j.encode()); err != nil {
			return s.explain(ctx, doing, err)
		}
	}
	for _, it := range items {
		if err := cl.write(ctx, it.user, it.attrs, it.secret); err != nil {
			return s.explain(ctx, doing, err)
		}
	}
	for i := 2; i <= h.Parts; i++ {
		if err := cl.write(ctx, indexPartUser(h.Gen, i, h.Parts), map[string]string{attrGen: g}, parts[i-1]); err != nil {
			return s.explain(ctx, doing, err)
		}
	}
	rootAttrs := map[string]string{attrGen: g}
	if h.Last != "" {
		rootAttrs[attrLast] = h.Last
	}
	if h.Erased {
		rootAttrs[attrErased] = "true"
	}
	if err := cl.write(ctx, indexUser, rootAttrs, h.line()+parts[0]); err != nil {
		return s.explain(ctx, doing, err)
	}
	// Committed. What remains is cleaning up; should it fail, the next
	// write finishes it, as the new root says.
	var ids []string
	if st.rootID != "" {
		ids = []string{st.rootID}
	}
	_ = cl.removeItems(ctx, h.replaced(), ids)
	return nil
}

// lock takes the store lock for a write, and returns a caller for its
// keychain calls and the function that releases the lock.
func (s *Store) lock(ctx context.Context, doing string) (*caller, func(), error) {
	if err := os.MkdirAll(filepath.Dir(s.lockPath), 0o700); err != nil {
		return nil, nil, fmt.Errorf("failed to create lock directory: %v", err)
	}
	lock, err := filelock.Acquire(ctx, s.lockPath)
	if errors.Is(err, filelock.ErrTimeout) {
		return nil, nil, helper.WithHint(fmt.Errorf("failed to %s: failed to lock the keychain store: %v", doing, err),
			"another docker-credential-notation process is writing; retry, or look for a hung process")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("failed to %s: failed to lock the keychain store: %v", doing, err)
	}
	cl := s.newCaller()
	unlock := func() {
		// A call abandoned at its deadline may still land: keep other
		// writers out until it has, or until this process exits.
		if cl.hasAbandoned() {
			go func() {
				cl.wg.Wait()
				lock.Unlock()
			}()
			return
		}
		lock.Unlock()
	}
	return cl, unlock, nil
}

// runDiagnose runs the Keyring's diagnosis, if it has one, giving up at
// ctx's deadline.
func (s *Store) runDiagnose(ctx context.Context) error {
	d, ok := s.kr.(Diagnoser)
	if !ok {
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- d.Diagnose(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return helper.WithHint(fmt.Errorf("%w: the %s does not answer", ErrTimeout, s.describeKeychain()), timeoutHint+", "+backendHint)
	}
}
