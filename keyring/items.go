package keyring

import (
	"context"
	"strconv"
	"strings"
)

// Item is one keychain item as a keychain that searches by attributes (the
// Secret Service) finds it.
type Item struct {
	// ID names the item for Secrets and Remove (a D-Bus object path).
	ID string
	// Attrs are all its attributes, "service" and "username" included.
	Attrs map[string]string
}

// itemKeyring is a Keyring that can also find items by their attributes and
// read several secrets in one call, as the Secret Service can (go-keyring's
// secret_service package): a Store on one keeps the layout of version 2 (see
// layout2.go), where Get reads the entry's own items without the index.
// Like Keyring's, its calls may block; the Store bounds them.
type itemKeyring interface {
	Keyring
	// Search returns, for each query, the items whose attributes include
	// all of the query's (which names the service).
	Search(queries ...map[string]string) ([][]Item, error)
	// Secrets returns the secrets of the items ids. An item that is gone
	// is absent from the map.
	Secrets(ids []string) (map[string]string, error)
	// Create stores an item with exactly these attributes (service and
	// username included) and label, replacing the item that has exactly
	// the same attributes, if any.
	Create(label string, attrs map[string]string, secret string) error
	// Remove deletes an item. An item already gone is not an error.
	Remove(id string) error
}

// The attributes of the items of layout 2, besides go-keyring's "service"
// and "username" (the item's name, as in layout 1).
const (
	attrService = "service"
	attrUser    = "username"
	// attrKey is nameKey of the entry, on each item of its secret: Get
	// finds them by it.
	attrKey = "key"
	// attrGen is the generation of the write that created the item, on
	// entry items and index roots.
	attrGen = "gen"
	// attrServer and attrAccount are the entry's server URL and username,
	// on part 1 of its secret.
	attrServer  = "server"
	attrAccount = "account"
	// attrLast is nameKey of the key that a root's write stored or erased;
	// attrErased is "true" if it erased it; attrOld is "GEN PARTS" of the
	// items that the write replaced, if any.
	attrLast   = "last"
	attrErased = "erased"
	attrOld    = "old"
	// attrLegacy, on a root, is the generation at or below which entries'
	// items were written by layout 1 and carry no attrKey.
	attrLegacy = "legacy"
)

// itemLabel is the label go-keyring gives an item, which a user browsing
// the keyring sees.
func itemLabel(service, user string) string {
	return "Password for '" + user + "' on '" + service + "'"
}

func (c *caller) search(ctx context.Context, queries ...map[string]string) ([][]Item, error) {
	var res [][]Item
	err := c.call(ctx, func(kr Keyring, service string) error {
		var err error
		res, err = kr.(itemKeyring).Search(queries...)
		return err
	})
	if err == nil && len(res) != len(queries) {
		panic("keyring: Search returned the wrong number of results")
	}
	return res, err
}

func (c *caller) secrets(ctx context.Context, ids []string) (map[string]string, error) {
	var res map[string]string
	err := c.call(ctx, func(kr Keyring, service string) error {
		var err error
		res, err = kr.(itemKeyring).Secrets(ids)
		return err
	})
	return res, err
}

func (c *caller) create(ctx context.Context, attrs map[string]string, secret string) error {
	return c.call(ctx, func(kr Keyring, service string) error {
		return kr.(itemKeyring).Create(itemLabel(service, attrs[attrUser]), attrs, secret)
	})
}

func (c *caller) remove(ctx context.Context, id string) error {
	return c.call(ctx, func(kr Keyring, service string) error { return kr.(itemKeyring).Remove(id) })
}

// parseEntryUser parses an entry item's name, entryUser(name, gen, i, n).
func parseEntryUser(user string) (name string, gen uint64, i, n int, ok bool) {
	at := strings.LastIndex(user, " #")
	if at < 0 {
		return "", 0, 0, 0, false
	}
	name, rest := user[:at], user[at+2:]
	i, n = 1, 1
	if g, part, found := strings.Cut(rest, " part "); found {
		rest = g
		si, sn, ok := strings.Cut(part, "/")
		if !ok {
			return "", 0, 0, 0, false
		}
		var err1, err2 error
		i, err1 = strconv.Atoi(si)
		n, err2 = strconv.Atoi(sn)
		if err1 != nil || err2 != nil || n < 2 || n > maxParts || i < 1 || i > n {
			return "", 0, 0, 0, false
		}
	}
	gen, err := strconv.ParseUint(rest, 10, 64)
	if err != nil || gen < 1 {
		return "", 0, 0, 0, false
	}
	return name, gen, i, n, true
}
