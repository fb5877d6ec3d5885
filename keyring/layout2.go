package keyring

// Layout 2: the items of a Store on a keychain that searches by attributes
// (the Secret Service). See the package documentation, "Layout 2".

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// indexVersion2 is the version of a layout-2 root's header line.
const indexVersion2 = 2

// deflateAbove is the size above which a root's index document is stored
// compressed: godbus decodes a secret byte by byte (about 0.2 µs a byte),
// and the index of 1,000 entries shrinks about eight times.
const deflateAbove = 2048

// maxRereads bounds how often a reader starts over because a writer
// replaced what it was reading.
const maxRereads = 5

// root2 is what a layout-2 root's attributes say.
type root2 struct {
	id  string
	gen uint64
	// last is nameKey of the key that the root's write stored or erased,
	// erased whether it erased it, and oldGen and oldParts locate the
	// items that the write replaced (oldGen 0: none).
	last     string
	erased   bool
	oldGen   uint64
	oldParts int
	// legacy: entries of generation legacy or lower have items of layout
	// 1, without attrKey (0: none).
	legacy uint64
}

func parseRoot2(it Item) (root2, error) {
	bad := func(what string) (root2, error) {
		return root2{}, damagedf("the index item %q has an invalid %s attribute", indexUser, what)
	}
	r := root2{id: it.ID, last: it.Attrs[attrLast], erased: it.Attrs[attrErased] == "true"}
	var err error
	if r.gen, err = strconv.ParseUint(it.Attrs[attrGen], 10, 64); err != nil || r.gen < 1 {
		return bad(attrGen)
	}
	if o, ok := it.Attrs[attrOld]; ok {
		g, p, _ := strings.Cut(o, " ")
		r.oldGen, err = strconv.ParseUint(g, 10, 64)
		if err != nil || r.oldGen < 1 || r.oldGen >= r.gen || r.last == "" {
			return bad(attrOld)
		}
		if r.oldParts, err = strconv.Atoi(p); err != nil || r.oldParts < 0 || r.oldParts > maxParts {
			return bad(attrOld)
		}
	}
	if l, ok := it.Attrs[attrLegacy]; ok {
		if r.legacy, err = strconv.ParseUint(l, 10, 64); err != nil || r.legacy >= r.gen {
			return bad(attrLegacy)
		}
	}
	return r, nil
}

// roots sorts the items named indexUser: cur is the layout-2 root of the
// highest generation, the commit point; legacy the root of layout 1, if
// there is no layout-2 root; stale the others, which a writer removes.
type roots struct {
	cur    *root2
	legacy *Item
	stale  []string
}

func sortRoots(items []Item) (roots, error) {
	var r roots
	var legacy []Item
	for _, it := range items {
		if _, ok := it.Attrs[attrGen]; !ok {
			legacy = append(legacy, it)
			continue
		}
		rt, err := parseRoot2(it)
		if err != nil {
			return roots{}, err
		}
		if r.cur == nil || rt.gen > r.cur.gen {
			if r.cur != nil {
				r.stale = append(r.stale, r.cur.id)
			}
			r.cur = &rt
		} else {
			r.stale = append(r.stale, rt.id)
		}
	}
	switch {
	case r.cur != nil:
		for _, it := range legacy {
			r.stale = append(r.stale, it.ID)
		}
	case len(legacy) > 1:
		// go-keyring replaces an item with the same name: never two.
		return roots{}, damagedf("there are %d index items %q", len(legacy), indexUser)
	case len(legacy) == 1:
		r.legacy = &legacy[0]
	}
	return r, nil
}

func (s *Store) rootQuery() map[string]string {
	return map[string]string{attrService: s.service, attrUser: indexUser}
}

func (s *Store) userQuery(user string) map[string]string {
	return map[string]string{attrService: s.service, attrUser: user}
}

// rootHeader2 is the first line of a layout-2 root.
type rootHeader2 struct {
	Version int    `json:"version"`
	Gen     uint64 `json:"gen"`
	Parts   int    `json:"parts"`
	// Encoding is "deflate" when the document is compressed (raw
	// DEFLATE, then base64), else empty.
	Encoding string `json:"encoding,omitempty"`
}

// encodeRoot2 returns a layout-2 root's secret: the header line and the
// index document, compressed when it is large.
func encodeRoot2(gen uint64, entries map[string]entry) (string, error) {
	doc, err := encodeIndexDoc(entries)
	if err != nil {
		return "", err
	}
	h := rootHeader2{Version: indexVersion2, Gen: gen, Parts: 1}
	if len(doc) > deflateAbove {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.DefaultCompression) // cannot fail: a valid level
		if _, err := io.WriteString(w, doc); err != nil {
			return "", err
		}
		if err := w.Close(); err != nil {
			return "", err
		}
		h.Encoding = "deflate"
		doc = base64.StdEncoding.EncodeToString(b.Bytes())
	}
	line, err := json.Marshal(h)
	if err != nil {
		return "", err
	}
	return string(line) + "\n" + doc, nil
}

// parseRoot2Secret parses the secret of the layout-2 root r.
func parseRoot2Secret(r *root2, secret string) (*index, error) {
	line, doc, ok := strings.Cut(secret, "\n")
	if !ok {
		return nil, damagedf("the index item %q has no header line", indexUser)
	}
	var h rootHeader2
	if err := json.Unmarshal([]byte(line), &h); err != nil {
		return nil, damagedf("the index item %q has a malformed header: %v", indexUser, err)
	}
	switch {
	case h.Version > indexVersion2:
		return nil, errNewerVersion(h.Version)
	case h.Version != indexVersion2:
		return nil, damagedf("the index item %q of layout 2 has version %d", indexUser, h.Version)
	case h.Gen != r.gen || h.Parts != 1:
		return nil, damagedf("the index item %q has an invalid header (generation %d, attribute %d, %d parts)", indexUser, h.Gen, r.gen, h.Parts)
	}
	switch h.Encoding {
	case "":
	case "deflate":
		z, err := base64.StdEncoding.DecodeString(doc)
		if err != nil {
			return nil, damagedf("the index (generation %d) is not valid base64: %v", h.Gen, err)
		}
		// Bounded: see maxIndexSize.
		raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), maxIndexSize+1))
		if err != nil {
			return nil, damagedf("the index (generation %d) does not decompress: %v", h.Gen, err)
		}
		if len(raw) > maxIndexSize {
			return nil, damagedf("the index is larger than %d MiB", maxIndexSize>>20)
		}
		doc = string(raw)
	default:
		return nil, damagedf("the index (generation %d) has unknown encoding %q", h.Gen, h.Encoding)
	}
	return parseIndexDoc(doc, h.Gen, 1)
}

// legacyCaller returns a caller that sees the items of s by name, as
// layout 1 reads them (through legacyView), sharing c's call tracking.
func (s *Store) legacyCaller(c *caller) *caller {
	return &caller{kr: legacyView{c.kr.(itemKeyring)}, service: s.service, callState: c.callState}
}

// legacyView reads and removes items by name through an itemKeyring, so
// that the code of layout 1 can read a keychain of layout 1 (or one that
// is being migrated) without go-keyring, which would take any of several
// items of the same name.
type legacyView struct{ ik itemKeyring }

// find returns the items named user, except layout-2 roots.
func (v legacyView) find(service, user string) ([]Item, error) {
	res, err := v.ik.Search(map[string]string{attrService: service, attrUser: user})
	if err != nil {
		return nil, err
	}
	var out []Item
	for _, it := range res[0] {
		if _, ok := it.Attrs[attrGen]; ok && user == indexUser {
			continue
		}
		out = append(out, it)
	}
	return out, nil
}

func (v legacyView) Get(service, user string) (string, error) {
	items, err := v.find(service, user)
	if err != nil {
		return "", err
	}
	if len(items) == 0 {
		return "", gokeyring.ErrNotFound
	}
	secrets, err := v.ik.Secrets([]string{items[0].ID})
	if err != nil {
		return "", err
	}
	secret, ok := secrets[items[0].ID]
	if !ok {
		return "", gokeyring.ErrNotFound
	}
	return secret, nil
}

func (v legacyView) Set(service, user, password string) error {
	return errors.New("bug: layout 1 written on a keychain of layout 2")
}

func (v legacyView) Delete(service, user string) error {
	items, err := v.find(service, user)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return gokeyring.ErrNotFound
	}
	for _, it := range items {
		if err := v.ik.Remove(it.ID); err != nil {
			return err
		}
	}
	return nil
}

// state2 is what a writer (or List) reads: the roots and the index.
type state2 struct {
	roots roots
	idx   *index
}

// readState2 reads the roots and the current index. A root removed after
// the search (a writer committed a newer one) means reading again.
func (s *Store) readState2(ctx context.Context, c *caller) (*state2, error) {
	doing := "read the index of the " + s.describeKeychain()
	for range maxRereads {
		res, err := c.search(ctx, s.rootQuery())
		if err != nil {
			return nil, s.explain(ctx, doing, err)
		}
		r, err := sortRoots(res[0])
		if err != nil {
			return nil, s.indexError(err)
		}
		switch {
		case r.cur != nil:
			secrets, err := c.secrets(ctx, []string{r.cur.id})
			if err != nil {
				return nil, s.explain(ctx, doing, err)
			}
			secret, ok := secrets[r.cur.id]
			if !ok {
				continue
			}
			idx, err := parseRoot2Secret(r.cur, secret)
			if err != nil {
				return nil, s.indexError(err)
			}
			return &state2{roots: r, idx: idx}, nil
		case r.legacy != nil:
			idx, err := s.readIndex(ctx, s.legacyCaller(c))
			if err != nil {
				return nil, err
			}
			return &state2{roots: r, idx: idx}, nil
		default:
			return &state2{roots: r, idx: &index{Entries: map[string]entry{}}}, nil
		}
	}
	return nil, helper.WithHint(fmt.Errorf("failed to %s: other processes replaced it %d times while it was read", doing, maxRereads),
		"retry; if it persists, look for a process that stores credentials in a loop")
}

// readIndex2 is readIndex for layout 2: one search and one read.
func (s *Store) readIndex2(ctx context.Context, c *caller) (*index, error) {
	st, err := s.readState2(ctx, c)
	if err != nil {
		return nil, err
	}
	return st.idx, nil
}

// get2 is Get on layout 2: one search for the entry's items and the roots,
// then one read of the entry's secret. The entry's newest items of a
// committed generation (at most the root's) are its secret, unless the
// root's write erased it; items of a later generation belong to a write
// that has not committed. See the package documentation.
func (s *Store) get2(ctx context.Context, key helper.Key) (helper.Credentials, error) {
	c := s.newCaller()
	k := key.String()
	name := nameKey(k)
	doing := "get credentials for " + k
	notFound := fmt.Errorf("%s: %w", key, helper.ErrNotFound)
	var missedGen uint64
	for range maxRereads {
		res, err := c.search(ctx, map[string]string{attrService: s.service, attrKey: name}, s.rootQuery())
		if err != nil {
			return helper.Credentials{}, s.explain(ctx, doing, err)
		}
		r, err := sortRoots(res[1])
		if err != nil {
			return helper.Credentials{}, s.indexError(err)
		}
		if r.cur == nil {
			if r.legacy == nil {
				return helper.Credentials{}, notFound
			}
			return s.getIndexed(ctx, s.legacyCaller(c), key)
		}
		if r.cur.last == name && r.cur.erased {
			return helper.Credentials{}, notFound
		}
		var cred helper.Credentials
		var missing string
		if parts := newestCommitted(res[0], name, r.cur.gen); parts != nil {
			cred, missing, err = s.readParts2(ctx, c, key, parts)
		} else if r.cur.legacy > 0 {
			cred, missing, err = s.getLegacyEntry(ctx, c, key, r.cur)
		} else {
			return helper.Credentials{}, notFound
		}
		if err != nil {
			return helper.Credentials{}, err
		}
		if missing == "" {
			return cred, nil
		}
		// An item is gone: a writer may have replaced the entry and
		// removed it since the search. If the root has not changed, the
		// item was removed by someone else.
		if missedGen == r.cur.gen {
			return helper.Credentials{}, helper.WithHint(
				fmt.Errorf("failed to get credentials for %s: %w: the %s item %q that holds its secret is missing (removed outside docker-credential-notation?)",
					key, ErrDamaged, s.describeKeychain(), missing),
				fmt.Sprintf("erase the entry (docker logout %s) and log in again", key))
		}
		missedGen = r.cur.gen
	}
	return helper.Credentials{}, helper.WithHint(fmt.Errorf("failed to %s: other processes replaced it %d times while it was read", doing, maxRereads),
		"retry; if it persists, look for a process that stores credentials in a loop")
}

// newestCommitted returns the items of the newest generation at most gen
// among items (those of an entry, found by attrKey name), in part order;
// a part that is not there is a nil Item with only its name. It returns
// nil if there is no such generation.
func newestCommitted(items []Item, name string, gen uint64) []Item {
	var best uint64
	for _, it := range items {
		n, g, _, _, ok := parseEntryUser(it.Attrs[attrUser])
		if ok && n == name && g <= gen && g > best && it.Attrs[attrGen] == strconv.FormatUint(g, 10) {
			best = g
		}
	}
	if best == 0 {
		return nil
	}
	var parts []Item
	for _, it := range items {
		n, g, i, np, ok := parseEntryUser(it.Attrs[attrUser])
		if !ok || n != name || g != best {
			continue
		}
		if parts == nil {
			parts = make([]Item, np)
			for j := range parts {
				parts[j].Attrs = map[string]string{attrUser: entryUser(name, best, j+1, np)}
			}
		}
		if np != len(parts) {
			// Items of one generation that disagree on the number of
			// parts: another program made them.
			continue
		}
		parts[i-1] = it
	}
	return parts
}

// readParts2 reads the secret held by parts (from newestCommitted).
// missing names a part that is gone, if any.
func (s *Store) readParts2(ctx context.Context, c *caller, key helper.Key, parts []Item) (helper.Credentials, string, error) {
	ids := make([]string, 0, len(parts))
	for _, p := range parts {
		if p.ID == "" {
			return helper.Credentials{}, p.Attrs[attrUser], nil
		}
		ids = append(ids, p.ID)
	}
	secrets, err := c.secrets(ctx, ids)
	if err != nil {
		return helper.Credentials{}, "", s.explain(ctx, "get credentials for "+key.String(), err)
	}
	var b strings.Builder
	for _, p := range parts {
		v, ok := secrets[p.ID]
		if !ok {
			return helper.Credentials{}, p.Attrs[attrUser], nil
		}
		// Bounded: a secret is at most helper.MaxPayload bytes.
		if b.Len()+len(v) > helper.MaxPayload {
			return helper.Credentials{}, "", helper.WithHint(
				fmt.Errorf("failed to get credentials for %s: %w: its secret is larger than %d bytes", key, ErrDamaged, helper.MaxPayload),
				fmt.Sprintf("erase the entry (docker logout %s) and log in again", key))
		}
		b.WriteString(v)
	}
	first := parts[0].Attrs
	if first[attrServer] == "" || first[attrAccount] == "" {
		return helper.Credentials{}, "", helper.WithHint(
			fmt.Errorf("failed to get credentials for %s: %w: its %s item %q has no server URL or username", key, ErrDamaged, s.describeKeychain(), first[attrUser]),
			fmt.Sprintf("erase the entry (docker logout %s) and log in again", key))
	}
	return helper.Credentials{ServerURL: first[attrServer], Username: first[attrAccount], Secret: b.String()}, "", nil
}

// getLegacyEntry reads an entry that layout 1 may have written, whose
// items carry no attrKey: by the index of root r, then by name.
func (s *Store) getLegacyEntry(ctx context.Context, c *caller, key helper.Key, r *root2) (helper.Credentials, string, error) {
	secrets, err := c.secrets(ctx, []string{r.id})
	if err != nil {
		return helper.Credentials{}, "", s.explain(ctx, "read the index of the "+s.describeKeychain(), err)
	}
	secret, ok := secrets[r.id]
	if !ok {
		return helper.Credentials{}, indexUser, nil
	}
	idx, err := parseRoot2Secret(r, secret)
	if err != nil {
		return helper.Credentials{}, "", s.indexError(err)
	}
	e, ok := idx.Entries[key.String()]
	if !ok {
		return helper.Credentials{}, "", fmt.Errorf("%s: %w", key, helper.ErrNotFound)
	}
	if e.Gen > r.legacy {
		// Written by layout 2, yet the search did not find its items.
		return helper.Credentials{}, entryUser(nameKey(key.String()), e.Gen, 1, e.Parts), nil
	}
	v, missing, err := s.readSecret(ctx, s.legacyCaller(c), key, e)
	if err != nil || missing != "" {
		return helper.Credentials{}, missing, err
	}
	return helper.Credentials{ServerURL: e.ServerURL, Username: e.Username, Secret: v}, "", nil
}

// removeNamed removes the items named users (of any layout); items
// already gone are fine.
func (s *Store) removeNamed(ctx context.Context, c *caller, users []string, ids []string) error {
	queries := make([]map[string]string, len(users))
	for i, u := range users {
		queries[i] = s.userQuery(u)
	}
	if len(queries) > 0 {
		res, err := c.search(ctx, queries...)
		if err != nil {
			return s.explain(ctx, "find stale items", err)
		}
		for i, items := range res {
			for _, it := range items {
				if _, isRoot2 := it.Attrs[attrGen]; isRoot2 && users[i] == indexUser {
					continue
				}
				ids = append(ids, it.ID)
			}
		}
	}
	for _, id := range ids {
		if err := c.remove(ctx, id); err != nil {
			return s.explain(ctx, "remove a stale item", err)
		}
	}
	return nil
}

// entryUsers names the items of e's secret.
func entryUsers(name string, gen uint64, parts int) []string {
	us := make([]string, parts)
	for i := range parts {
		us[i] = entryUser(name, gen, i+1, parts)
	}
	return us
}

// recover2 finishes the last write, as the current root and the items of
// the next generation tell: it removes the items of a write that never
// committed (generation cur+1), the roots older than the current one, and
// the items that the current root's write replaced.
//
// On a keychain of layout 1 (r.cur nil), a write of layout 2 that never
// committed may also have left items of generation gen+1.
func (s *Store) recover2(ctx context.Context, c *caller, r roots, gen uint64) error {
	res, err := c.search(ctx, map[string]string{attrService: s.service, attrGen: strconv.FormatUint(gen+1, 10)})
	if err != nil {
		return s.explain(ctx, "find what an interrupted write left behind", err)
	}
	ids := append([]string(nil), r.stale...)
	for _, it := range res[0] {
		ids = append(ids, it.ID)
	}
	var users []string
	if cur := r.cur; cur != nil && cur.oldGen > 0 {
		users = entryUsers(cur.last, cur.oldGen, cur.oldParts)
	}
	return s.removeNamed(ctx, c, users, ids)
}

// begin2 starts a write of layout 2: it reads the state and finishes the
// last write (recover2), or on a keychain of layout 1 runs its journal
// (recoverJournal) and removes it. legacyGen is the generation up to which
// entries have items of layout 1.
func (s *Store) begin2(ctx context.Context, cl *caller, doing string) (st *state2, legacyGen uint64, err error) {
	st, err = s.readState2(ctx, cl)
	if err != nil {
		return nil, 0, err
	}
	if st.roots.cur != nil {
		legacyGen = st.roots.cur.legacy
	} else {
		// Layout 1 (or an empty keychain): finish its last write, then drop
		// its journal, which nothing will read again.
		lc := s.legacyCaller(cl)
		if err := s.recoverJournal(ctx, lc, st.idx.Gen); err != nil {
			return nil, 0, err
		}
		if err := lc.del(ctx, journalUser); err != nil && !isNotFound(err) {
			return nil, 0, s.explain(ctx, doing, err)
		}
		legacyGen = st.idx.Gen // every entry so far has items of layout 1
	}
	if err := s.recover2(ctx, cl, st.roots, st.idx.Gen); err != nil {
		return nil, 0, err
	}
	return st, legacyGen, nil
}

// write2 is write on layout 2, under the store lock:
//
//  1. Finish the last write (recover2), or on a keychain of layout 1, run
//     its journal (recoverJournal) and remove it.
//  2. Create the secret's items under the new generation, with attrKey and
//     attrGen (and on part 1 the server URL and username).
//  3. Create the new root, whose attributes name the new generation, the
//     key written and the items it replaces: the commit point. It is a new
//     item, beside the old root, since its attributes differ.
//  4. Remove the old root and the replaced items.
//
// A crash before step 3 leaves items of a generation that no root names,
// which readers ignore and the next write removes; after it, the old root
// and items, which readers ignore (the newest root and the newest
// committed generation win) and the next write removes.
func (s *Store) write2(ctx context.Context, cl *caller, key helper.Key, c *helper.Credentials, doing string) error {
	st, legacyGen, err := s.begin2(ctx, cl, doing)
	if err != nil {
		return err
	}
	lc := s.legacyCaller(cl)

	idx := st.idx
	k := key.String()
	name := nameKey(k)
	old, had := idx.Entries[k]
	if c == nil && !had {
		return fmt.Errorf("%s: %w", key, helper.ErrNotFound)
	}
	if c != nil && had && old.ServerURL == c.ServerURL && old.Username == c.Username {
		// Reads cost far less than writes: skip storing what is stored.
		if secret, missing, err := s.readSecret(ctx, lc, key, old); err == nil && missing == "" && secret == c.Secret {
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
		if len(secretParts) == 0 {
			// An empty secret still needs an item, which Get finds.
			secretParts = []string{""}
		}
		entries[k] = entry{ServerURL: c.ServerURL, Username: c.Username, Gen: gen, Parts: len(secretParts)}
	} else {
		delete(entries, k)
	}
	if legacyGen > 0 {
		left := false
		for _, e := range entries {
			if e.Gen <= legacyGen {
				left = true
				break
			}
		}
		if !left {
			legacyGen = 0
		}
	}
	rootSecret, err := encodeRoot2(gen, entries)
	if err != nil {
		return fmt.Errorf("failed to %s: failed to encode the index: %v", doing, err)
	}

	g := strconv.FormatUint(gen, 10)
	for i, p := range secretParts {
		attrs := map[string]string{attrService: s.service, attrUser: entryUser(name, gen, i+1, len(secretParts)), attrKey: name, attrGen: g}
		if i == 0 {
			attrs[attrServer], attrs[attrAccount] = c.ServerURL, c.Username
		}
		if err := cl.create(ctx, attrs, p); err != nil {
			return s.explain(ctx, doing, err)
		}
	}
	rootAttrs := map[string]string{attrService: s.service, attrUser: indexUser, attrGen: g, attrLast: name}
	if c == nil {
		rootAttrs[attrErased] = "true"
	}
	if had {
		rootAttrs[attrOld] = strconv.FormatUint(old.Gen, 10) + " " + strconv.Itoa(old.Parts)
	}
	if legacyGen > 0 {
		rootAttrs[attrLegacy] = strconv.FormatUint(legacyGen, 10)
	}
	if err := cl.create(ctx, rootAttrs, rootSecret); err != nil {
		return s.explain(ctx, doing, err)
	}
	// Committed. What remains is cleaning up; should it fail, the next
	// write finishes it, as the new root says.
	ids, users := oldRoots(st)
	if had {
		users = append(users, entryUsers(name, old.Gen, old.Parts)...)
	}
	_ = s.removeNamed(ctx, cl, users, ids)
	return nil
}
