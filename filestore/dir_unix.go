//go:build unix

package filestore

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// checkStoreDir refuses a store directory that someone else could change:
// owned by another user, or writable by group or others. Whoever can write
// it can swap the store or the key for their own, or plant files; reading
// or writing credentials there would trust them.
func checkStoreDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("failed to check store directory %s: %v", dir, err)
	}
	if uid, other := ownedByOther(fi); other {
		return helper.WithHint(fmt.Errorf("refusing store directory %s: it is owned by uid %d, not by you (uid %d)", dir, uid, os.Geteuid()),
			fmt.Sprintf("use a directory of your own (DOCKER_CREDENTIAL_NOTATION_STORE_DIR), or chown it to yourself: chown %d %s", os.Geteuid(), dir))
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return helper.WithHint(fmt.Errorf("refusing store directory %s: it is writable by group or others (mode %04o)", dir, fi.Mode().Perm()),
			"run: chmod 700 "+dir)
	}
	return nil
}

// ownedByOther reports whether fi belongs to a user other than this
// process's, and whose.
func ownedByOther(fi fs.FileInfo) (uint32, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, st.Uid != uint32(os.Geteuid())
}
