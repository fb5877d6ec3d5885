package keyring

import (
	"context"
	"fmt"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// PutMany stores several credentials, as Put would one after the other. On
// the Secret Service, those whose keys are not stored yet are written as
// one transaction: their items, then one root, so n new entries cost n+1
// keychain writes instead of 3n and each gnome-keyring rewrite of its
// keyring file is paid once per entry rather than three times; a failure
// stores none of them. The others (keys already stored, or given twice),
// and every credential on other keychains (whose journal names the items
// of one key), are stored by Put. Each keychain call has its own deadline
// (ctx's, or Options.Timeout), so that a large batch is not cut short.
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
	if s.items != nil {
		var err error
		if rest, err = s.putNew(ctx, creds, keys); err != nil {
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

// putNew stores, in one transaction, the credentials whose keys are not
// stored yet, and returns the indexes of the others.
func (s *Store) putNew(ctx context.Context, creds []helper.Credentials, keys []helper.Key) (rest []int, err error) {
	doing := fmt.Sprintf("store %d credentials", len(creds))
	lctx, cancel := s.withTimeout(ctx)
	defer cancel()
	cl, unlock, err := s.lock(lctx, doing)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, ok := ctx.Deadline(); !ok {
		cl.perCall = s.timeout
	}
	st, err := s.begin(ctx, cl)
	if err != nil {
		return nil, err
	}
	gen := st.idx.Gen + 1
	entries := make(map[string]entry, len(st.idx.Entries)+len(creds))
	for k, e := range st.idx.Entries {
		entries[k] = e
	}
	var items []newItem
	for i, c := range creds {
		k := keys[i].String()
		if _, ok := entries[k]; ok {
			rest = append(rest, i)
			continue
		}
		its, err := s.secretItems(nameKey(k), gen, c)
		if err != nil {
			return nil, fmt.Errorf("failed to store credentials for %s: %v", k, err)
		}
		items = append(items, its...)
		entries[k] = entry{ServerURL: c.ServerURL, Username: c.Username, Gen: gen, Parts: len(its)}
	}
	if len(items) == 0 {
		return rest, nil
	}
	if err := s.commit(ctx, cl, st, rootHeader{Gen: gen}, entries, items, doing); err != nil {
		return nil, err
	}
	return rest, nil
}
