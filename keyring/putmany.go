package keyring

import (
	"context"
	"fmt"
	"strconv"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// PutMany stores several credentials, as Put would one after the other. On
// a Secret Service (layout 2), those whose keys are not stored yet are
// written as one transaction: their items, then one root, so n new entries
// cost n+1 keychain writes instead of 3n and each gnome-keyring rewrite of
// its keyring file is paid once per entry rather than three times; a
// failure stores none of them. The others (keys already stored, or given
// twice), and every credential on other keychains, are stored by Put. Each
// keychain call has its own deadline (ctx's, or Options.Timeout), so that
// a large batch is not cut short.
func (s *Store) PutMany(ctx context.Context, creds []helper.Credentials) error {
	keys := make([]helper.Key, len(creds))
	for i, c := range creds {
		k, err := helper.ParseServerURL(c.ServerURL)
		if err != nil {
			return fmt.Errorf("failed to store credentials for %q: %w", c.ServerURL, err)
		}
		keys[i] = k
	}
	rest := make([]int, 0, len(creds))
	if _, ok := s.kr.(itemKeyring); ok {
		var err error
		if rest, err = s.putNew2(ctx, creds, keys); err != nil {
			return err
		}
	} else {
		for i := range creds {
			rest = append(rest, i)
		}
	}
	for _, i := range rest {
		if err := s.Put(ctx, keys[i], creds[i]); err != nil {
			return err
		}
	}
	return nil
}

// putNew2 stores, in one transaction of layout 2, the credentials whose
// keys are not stored yet, and returns the indexes of the others.
func (s *Store) putNew2(parent context.Context, creds []helper.Credentials, keys []helper.Key) (rest []int, err error) {
	doing := fmt.Sprintf("store %d credentials", len(creds))
	step := func() (context.Context, context.CancelFunc) { return s.withTimeout(parent) }
	ctx, cancel := step()
	defer cancel()
	cl, unlock, err := s.lock(ctx, doing)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, legacyGen, err := s.begin2(ctx, cl, doing)
	if err != nil {
		return nil, err
	}
	gen := st.idx.Gen + 1
	g := strconv.FormatUint(gen, 10)
	entries := make(map[string]entry, len(st.idx.Entries)+len(creds))
	for k, e := range st.idx.Entries {
		entries[k] = e
	}
	type newItem struct {
		attrs  map[string]string
		secret string
	}
	var items []newItem
	for i, c := range creds {
		k := keys[i].String()
		if _, ok := entries[k]; ok {
			rest = append(rest, i)
			continue
		}
		name := nameKey(k)
		parts, err := split(c.Secret, func(i, n int) int { return s.capacity(entryUser(name, gen, i, n), 0) })
		if err != nil {
			return nil, fmt.Errorf("failed to store credentials for %s: %v", k, err)
		}
		if len(parts) == 0 {
			parts = []string{""}
		}
		for j, p := range parts {
			attrs := map[string]string{attrService: s.service, attrUser: entryUser(name, gen, j+1, len(parts)), attrKey: name, attrGen: g}
			if j == 0 {
				attrs[attrServer], attrs[attrAccount] = c.ServerURL, c.Username
			}
			items = append(items, newItem{attrs, p})
		}
		entries[k] = entry{ServerURL: c.ServerURL, Username: c.Username, Gen: gen, Parts: len(parts)}
	}
	if len(items) == 0 {
		return rest, nil
	}
	rootSecret, err := encodeRoot2(gen, entries)
	if err != nil {
		return nil, fmt.Errorf("failed to %s: failed to encode the index: %v", doing, err)
	}
	for _, it := range items {
		cctx, ccancel := step()
		err := cl.create(cctx, it.attrs, it.secret)
		ccancel()
		if err != nil {
			return nil, s.explain(ctx, doing, err)
		}
	}
	rootAttrs := map[string]string{attrService: s.service, attrUser: indexUser, attrGen: g}
	if legacyGen > 0 {
		rootAttrs[attrLegacy] = strconv.FormatUint(legacyGen, 10)
	}
	cctx, ccancel := step()
	defer ccancel()
	if err := cl.create(cctx, rootAttrs, rootSecret); err != nil {
		return nil, s.explain(cctx, doing, err)
	}
	// Committed; the next write finishes the clean-up if this one fails.
	ids, users := oldRoots(st)
	_ = s.removeNamed(cctx, cl, users, ids)
	return rest, nil
}

// oldRoots names the roots (and parts of a layout-1 index) that a write
// committed over st replaces.
func oldRoots(st *state2) (ids, users []string) {
	if st.roots.cur != nil {
		ids = append(ids, st.roots.cur.id)
	}
	if st.roots.legacy != nil {
		ids = append(ids, st.roots.legacy.ID)
		for i := 2; i <= st.idx.Parts; i++ {
			users = append(users, indexPartUser(st.idx.Gen, i, st.idx.Parts))
		}
	}
	return ids, users
}
