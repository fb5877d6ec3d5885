package filestore

import "bytes"

// Views of a whole plaintext, for the tests of the codec.

// isCanonical reports whether plain claims the canonical layout in every
// way that can be checked without reading the entries (see readLayout):
// such a plaintext is read line by line, each line read checked, and is
// parsed in full only when a line turns out not to be as the store writes
// it.
func isCanonical(plain []byte) bool {
	_, err := newPlainText(bytes.NewReader(plain), int64(len(plain))).readLayout()
	return err == nil
}

// lookupEntry finds one entry in a whole plaintext (see lookup).
func lookupEntry(plain []byte, key string) (entry, bool, error) {
	return lookup(newPlainText(bytes.NewReader(plain), int64(len(plain))), key)
}

// listEntries lists a whole plaintext (see list).
func listEntries(plain []byte) (map[string]string, error) {
	return list(newPlainText(bytes.NewReader(plain), int64(len(plain))))
}
