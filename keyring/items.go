package keyring

import (
	"context"
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
// secret_service package). A Store on one keeps the same items, with
// attributes as well, and uses them to save calls: Get finds an entry's
// items by its key rather than reading the index, and a writer finds what
// an interrupted write left behind by its generation rather than through a
// journal. Like Keyring's, its calls may block; the Store bounds them.
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

// The attributes of items on an itemKeyring, besides go-keyring's "service"
// and "username" (the item's name).
const (
	attrService = "service"
	attrUser    = "username"
	// attrKey is nameKey of the entry, on each item of its secret: Get
	// finds them by it.
	attrKey = "key"
	// attrGen is the generation of the write that created the item, on
	// every item but the journal (which an itemKeyring does not need).
	attrGen = "gen"
	// attrServer and attrAccount are the entry's server URL and username,
	// on part 1 of its secret.
	attrServer  = "server"
	attrAccount = "account"
	// attrLast and attrErased, on the root, repeat its header's Last and
	// Erased, so that Get learns from a search whether the root's write
	// erased the entry.
	attrLast   = "last"
	attrErased = "erased"
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
		res, err = c.items.Search(queries...)
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
		res, err = c.items.Secrets(ids)
		return err
	})
	return res, err
}

func (c *caller) create(ctx context.Context, attrs map[string]string, secret string) error {
	return c.call(ctx, func(kr Keyring, service string) error {
		return c.items.Create(itemLabel(service, attrs[attrUser]), attrs, secret)
	})
}

func (c *caller) remove(ctx context.Context, id string) error {
	return c.call(ctx, func(kr Keyring, service string) error { return c.items.Remove(id) })
}

func (c *caller) nameQuery(user string) map[string]string {
	return map[string]string{attrService: c.service, attrUser: user}
}

// readNamed returns the secrets of the items named users, in order: one
// call per item, or on an itemKeyring one search and one read. missing
// names the first item that the keychain does not have, if any.
func (c *caller) readNamed(ctx context.Context, users []string) (values []string, missing string, err error) {
	if c.items == nil {
		for _, u := range users {
			v, err := c.get(ctx, u)
			if isNotFound(err) {
				return nil, u, nil
			}
			if err != nil {
				return nil, "", err
			}
			values = append(values, v)
		}
		return values, "", nil
	}
	if len(users) == 0 {
		return nil, "", nil
	}
	queries := make([]map[string]string, len(users))
	for i, u := range users {
		queries[i] = c.nameQuery(u)
	}
	res, err := c.search(ctx, queries...)
	if err != nil {
		return nil, "", err
	}
	ids := make([]string, len(users))
	for i, items := range res {
		if len(items) == 0 {
			return nil, users[i], nil
		}
		ids[i] = items[0].ID
	}
	secrets, err := c.secrets(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	for i, id := range ids {
		v, ok := secrets[id]
		if !ok {
			return nil, users[i], nil
		}
		values = append(values, v)
	}
	return values, "", nil
}

// write stores secret as the item named user, replacing an item of that
// name; on an itemKeyring, with attrs as well, replacing only an item with
// the same attributes.
func (c *caller) write(ctx context.Context, user string, attrs map[string]string, secret string) error {
	if c.items == nil {
		return c.set(ctx, user, secret)
	}
	all := c.nameQuery(user)
	for k, v := range attrs {
		all[k] = v
	}
	return c.create(ctx, all, secret)
}

// removeItems removes the items named users and, on an itemKeyring, the
// items ids and those that the queries find; items already gone are fine.
func (c *caller) removeItems(ctx context.Context, users, ids []string, queries ...map[string]string) error {
	if c.items == nil {
		for _, u := range users {
			if err := c.del(ctx, u); err != nil && !isNotFound(err) {
				return err
			}
		}
		return nil
	}
	for _, u := range users {
		queries = append(queries, c.nameQuery(u))
	}
	if len(queries) > 0 {
		res, err := c.search(ctx, queries...)
		if err != nil {
			return err
		}
		for _, items := range res {
			for _, it := range items {
				ids = append(ids, it.ID)
			}
		}
	}
	for _, id := range ids {
		if err := c.remove(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
