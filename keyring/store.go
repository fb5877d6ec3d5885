package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
	kr       Keyring
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
	return &caller{kr: s.kr, service: s.service, callState: &callState{}}
}

// withTimeout applies the store's timeout to a context without a deadline.
func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.timeout)
}

// capacity is the room for data in an item named user that also holds
// overhead bytes of its own (the index root's header line).
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
	if _, ok := s.kr.(itemKeyring); ok {
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

// Get implements helper.Store. It reads the index, then the entry's secret:
// two keychain calls for an entry and an index of one item each.
func (s *Store) Get(ctx context.Context, key helper.Key) (helper.Credentials, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if _, ok := s.kr.(itemKeyring); ok {
		return s.get2(ctx, key)
	}
	return s.getIndexed(ctx, s.newCaller(), key)
}

// getIndexed is Get by the index: it reads the index, then the entry's
// items by the names the index gives.
func (s *Store) getIndexed(ctx context.Context, c *caller, key helper.Key) (helper.Credentials, error) {
	var missedGen uint64
	for {
		idx, err := s.readIndex(ctx, c)
		if err != nil {
			return helper.Credentials{}, err
		}
		e, ok := idx.Entries[key.String()]
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
			return helper.Credentials{}, helper.WithHint(
				fmt.Errorf("failed to get credentials for %s: %w: the %s item %q that holds its secret is missing (removed outside docker-credential-notation?)",
					key, ErrDamaged, s.describeKeychain(), missing),
				fmt.Sprintf("erase the entry (docker logout %s) and log in again", e.ServerURL))
		}
		missedGen = e.Gen
	}
}

// readSecret reads the items of e's secret. missing names the first item
// that the keychain does not have, if any.
func (s *Store) readSecret(ctx context.Context, c *caller, key helper.Key, e entry) (secret, missing string, err error) {
	name := nameKey(key.String())
	var b strings.Builder
	for i := 1; i <= e.Parts; i++ {
		user := entryUser(name, e.Gen, i, e.Parts)
		p, err := c.get(ctx, user)
		if isNotFound(err) {
			return "", user, nil
		}
		if err != nil {
			return "", "", s.explain(ctx, "get credentials for "+key.String(), err)
		}
		// Bounded: a secret is at most helper.MaxPayload bytes.
		if b.Len()+len(p) > helper.MaxPayload {
			return "", "", helper.WithHint(
				fmt.Errorf("failed to get credentials for %s: %w: its secret is larger than %d bytes", key, ErrDamaged, helper.MaxPayload),
				fmt.Sprintf("erase the entry (docker logout %s) and log in again", e.ServerURL))
		}
		b.WriteString(p)
	}
	return b.String(), "", nil
}

// List implements helper.Store. It reads the index only: one keychain call
// when the index fits in one item (always on Linux).
func (s *Store) List(ctx context.Context) (map[string]string, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var idx *index
	var err error
	if _, ok := s.kr.(itemKeyring); ok {
		idx, err = s.readIndex2(ctx, s.newCaller())
	} else {
		idx, err = s.readIndex(ctx, s.newCaller())
	}
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(idx.Entries))
	for _, e := range idx.Entries {
		m[e.ServerURL] = e.Username
	}
	return m, nil
}

// readIndex reads the index: the root, then its other parts. A part that is
// missing may have been removed by a writer that committed a new index
// since the root was read, so the root is read again; only a part missing
// from an unchanged root means damage. A keychain without a root is empty.
func (s *Store) readIndex(ctx context.Context, c *caller) (*index, error) {
	var missedGen uint64
	for {
		root, err := c.get(ctx, indexUser)
		if isNotFound(err) {
			return &index{Entries: map[string]entry{}}, nil
		}
		if err != nil {
			return nil, s.explain(ctx, "read the index of the "+s.describeKeychain(), err)
		}
		h, first, err := parseRootHeader(root)
		if err != nil {
			return nil, s.indexError(err)
		}
		doc, missing, err := s.readIndexParts(ctx, c, h, first)
		if err != nil {
			return nil, err
		}
		if missing != "" {
			if missedGen == h.Gen {
				return nil, s.indexError(damagedf("its item %q is missing", missing))
			}
			missedGen = h.Gen
			continue
		}
		idx, err := parseIndexDoc(doc, h.Gen, h.Parts)
		if err != nil {
			return nil, s.indexError(err)
		}
		return idx, nil
	}
}

func (s *Store) readIndexParts(ctx context.Context, c *caller, h rootHeader, first string) (doc, missing string, err error) {
	if h.Parts == 1 {
		return first, "", nil
	}
	var b strings.Builder
	b.WriteString(first)
	for i := 2; i <= h.Parts; i++ {
		user := indexPartUser(h.Gen, i, h.Parts)
		p, err := c.get(ctx, user)
		if isNotFound(err) {
			return "", user, nil
		}
		if err != nil {
			return "", "", s.explain(ctx, "read the index of the "+s.describeKeychain(), err)
		}
		// Bounded: see maxIndexSize.
		if b.Len()+len(p) > maxIndexSize {
			return "", "", s.indexError(damagedf("it is larger than %d MiB", maxIndexSize>>20))
		}
		b.WriteString(p)
	}
	return b.String(), "", nil
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
// under the store lock:
//
//  1. Finish the previous write if it was interrupted (see recoverJournal).
//  2. Write the journal, naming the items this write creates and replaces.
//  3. Write the secret's items, then the index's parts other than the root,
//     all under names of the new generation, so nothing that the current
//     index names is touched.
//  4. Write the root: the commit point. Readers see the old entry before it
//     and the new one after it, never a mix.
//  5. Remove the replaced items. The journal stays until the next write
//     replaces it.
//
// A crash or a keychain failure at any step leaves the old state readable,
// or the new one, plus items that only the journal names, which the next
// write removes.
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

	if _, ok := s.kr.(itemKeyring); ok {
		return s.write2(ctx, cl, key, c, doing)
	}
	idx, err := s.readIndex(ctx, cl)
	if err != nil {
		return err
	}
	if err := s.recoverJournal(ctx, cl, idx.Gen); err != nil {
		return err
	}

	k := key.String()
	name := nameKey(k)
	old, had := idx.Entries[k]
	if c == nil && !had {
		return fmt.Errorf("%s: %w", key, helper.ErrNotFound)
	}
	if c != nil && had && old.ServerURL == c.ServerURL && old.Username == c.Username {
		// Reads cost far less than writes: skip storing what is stored.
		if secret, missing, err := s.readSecret(ctx, cl, key, old); err == nil && missing == "" && secret == c.Secret {
			return nil
		}
	}
	gen := idx.Gen + 1
	entries := make(map[string]entry, len(idx.Entries)+1)
	for ek, e := range idx.Entries {
		entries[ek] = e
	}
	var secretParts []string
	if c != nil {
		secretParts, err = split(c.Secret, func(i, n int) int { return s.capacity(entryUser(name, gen, i, n), 0) })
		if err != nil {
			return fmt.Errorf("failed to %s: %v", doing, err)
		}
		entries[k] = entry{ServerURL: c.ServerURL, Username: c.Username, Gen: gen, Parts: len(secretParts)}
	} else {
		delete(entries, k)
	}
	doc, err := encodeIndexDoc(entries)
	if err != nil {
		return fmt.Errorf("failed to %s: failed to encode the index: %v", doing, err)
	}
	indexParts, err := split(doc, func(i, n int) int {
		if i == 1 {
			return s.capacity(indexUser, len(rootHeaderLine(gen, n)))
		}
		return s.capacity(indexPartUser(gen, i, n), 0)
	})
	if err != nil {
		return fmt.Errorf("failed to %s: failed to split the index: %v", doing, err)
	}

	j := &journal{Version: indexVersion, Gen: gen, Name: name, Parts: len(secretParts), IndexParts: len(indexParts)}
	if had {
		j.OldGen, j.OldParts = old.Gen, old.Parts
	}
	if idx.Gen > 0 {
		j.OldIndexParts = idx.Parts
	}
	if err := cl.set(ctx, journalUser, j.encode()); err != nil {
		return s.explain(ctx, doing, err)
	}
	for i, p := range secretParts {
		if err := cl.set(ctx, entryUser(name, gen, i+1, len(secretParts)), p); err != nil {
			return s.explain(ctx, doing, err)
		}
	}
	for i := 1; i < len(indexParts); i++ {
		if err := cl.set(ctx, indexPartUser(gen, i+1, len(indexParts)), indexParts[i]); err != nil {
			return s.explain(ctx, doing, err)
		}
	}
	if err := cl.set(ctx, indexUser, rootHeaderLine(gen, len(indexParts))+indexParts[0]); err != nil {
		return s.explain(ctx, doing, err)
	}
	// Committed. What remains is cleaning up; should it fail, the next
	// write finishes it, as the journal says.
	_ = s.collect(ctx, cl, j.garbage(gen))
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

// recoverJournal finishes the last write, as the journal records it: it
// removes what that write left behind (its new items if it never committed,
// the items it replaced if it did and could not remove them). Items already
// gone are fine: usually the write finished its own cleanup.
func (s *Store) recoverJournal(ctx context.Context, cl *caller, rootGen uint64) error {
	raw, err := cl.get(ctx, journalUser)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return s.explain(ctx, "read the journal of the "+s.describeKeychain(), err)
	}
	j, err := parseJournal(raw)
	if err != nil {
		// It names nothing usable: whatever it named stays behind, and this
		// write replaces it.
		return nil
	}
	return s.collect(ctx, cl, j.garbage(rootGen))
}

// collect removes items; an item already gone is fine.
func (s *Store) collect(ctx context.Context, cl *caller, items []string) error {
	for _, u := range items {
		if err := cl.del(ctx, u); err != nil && !isNotFound(err) {
			return s.explain(ctx, "remove the stale item "+u, err)
		}
	}
	return nil
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
