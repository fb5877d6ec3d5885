//go:build unix

package registryauth

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// trustedFile reports whether the challenge file, whose realms decide where
// a credential is sent, can only have been written by the user: a regular
// file, owned by the user, not writable by group or others, in a directory
// that is neither (as the config file's rules in internal/config).
func trustedFile(path string, fi fs.FileInfo) bool {
	if !fi.Mode().IsRegular() || !ownedAndPrivate(fi) {
		return false
	}
	di, err := os.Stat(filepath.Dir(path))
	return err == nil && ownedAndPrivate(di)
}

func ownedAndPrivate(fi fs.FileInfo) bool {
	if fi.Mode().Perm()&0o022 != 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || st.Uid == uint32(os.Geteuid())
}
