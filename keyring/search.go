package keyring

// Get on a keychain that searches by attributes (the Secret Service): the
// entry's own items, found by their key, without the index (about 10 KiB
// at 1,000 entries, which godbus decodes at about 0.2 µs a byte).

import (
	"context"
	"fmt"
	"strconv"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// maxRereads bounds how often a reader starts over because a writer
// replaced what it was reading.
const maxRereads = 5

// rootAttrs is what a root's attributes say: its generation, and the key
// its write stored or erased.
type rootAttrs struct {
	id     string
	gen    uint64
	last   string
	erased bool
}

func parseRootAttrs(it Item) (rootAttrs, error) {
	r := rootAttrs{id: it.ID, last: it.Attrs[attrLast], erased: it.Attrs[attrErased] == "true"}
	var err error
	if r.gen, err = strconv.ParseUint(it.Attrs[attrGen], 10, 64); err != nil || r.gen < 1 {
		return rootAttrs{}, damagedf("the index item %q has an invalid %s attribute", indexUser, attrGen)
	}
	return r, nil
}

// sortRoots finds, among the items named indexUser, the root of the
// highest generation: the commit point. The others are stale: a writer
// removes them.
func sortRoots(items []Item) (cur *rootAttrs, stale []string, err error) {
	for _, it := range items {
		r, err := parseRootAttrs(it)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case cur == nil:
			cur = &r
		case r.gen > cur.gen:
			stale = append(stale, cur.id)
			cur = &r
		default:
			stale = append(stale, r.id)
		}
	}
	return cur, stale, nil
}

func (s *Store) rootQuery() map[string]string {
	return map[string]string{attrService: s.service, attrUser: indexUser}
}

// getBySearch makes one search for the entry's items and the roots, then
// one read of the entry's secret. The entry's newest items of a committed
// generation (at most the root's) are its secret, unless the root's write
// erased it; items of a later generation belong to a write that has not
// committed and are never returned. Older items of the entry, and those of
// an entry erased before the root's write, were removed before that write
// committed (see begin). So Get and List agree at every moment.
func (s *Store) getBySearch(ctx context.Context, key helper.Key) (helper.Credentials, error) {
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
		root, _, err := sortRoots(res[1])
		if err != nil {
			return helper.Credentials{}, s.indexError(err)
		}
		if root == nil || root.last == name && root.erased {
			return helper.Credentials{}, notFound
		}
		parts := newestCommitted(res[0], name, root.gen)
		if parts == nil {
			return helper.Credentials{}, notFound
		}
		cred, missing, err := s.readParts(ctx, c, key, parts)
		if err != nil {
			return helper.Credentials{}, err
		}
		if missing == "" {
			return cred, nil
		}
		// An item is gone: a writer may have replaced the entry and
		// removed it since the search. If the root has not changed, the
		// item was removed by someone else.
		if missedGen == root.gen {
			return helper.Credentials{}, s.missingItem(key, k, missing)
		}
		missedGen = root.gen
	}
	return helper.Credentials{}, s.tooManyRereads(doing)
}

// newestCommitted returns the items of the newest generation at most gen
// among items (those of an entry, found by attrKey name), in part order;
// a part that is not there is an Item with only its name. It returns nil
// if there is no such generation.
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

// readParts reads the credentials held by parts (from newestCommitted).
// missing names a part that is gone, if any.
func (s *Store) readParts(ctx context.Context, c *caller, key helper.Key, parts []Item) (helper.Credentials, string, error) {
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
	values := make([]string, len(parts))
	for i, p := range parts {
		v, ok := secrets[p.ID]
		if !ok {
			return helper.Credentials{}, p.Attrs[attrUser], nil
		}
		values[i] = v
	}
	secret, err := joinBounded(values, helper.MaxPayload)
	if err != nil {
		return helper.Credentials{}, "", helper.WithHint(
			fmt.Errorf("failed to get credentials for %s: %w: its secret is larger than %d bytes", key, ErrDamaged, helper.MaxPayload),
			fmt.Sprintf("erase the entry (docker logout %s) and log in again", key))
	}
	first := parts[0].Attrs
	if first[attrServer] == "" || first[attrAccount] == "" {
		return helper.Credentials{}, "", helper.WithHint(
			fmt.Errorf("failed to get credentials for %s: %w: its %s item %q has no server URL or username", key, ErrDamaged, s.describeKeychain(), first[attrUser]),
			fmt.Sprintf("erase the entry (docker logout %s) and log in again", key))
	}
	return helper.Credentials{ServerURL: first[attrServer], Username: first[attrAccount], Secret: secret}, "", nil
}
