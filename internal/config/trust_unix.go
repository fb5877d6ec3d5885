//go:build unix

package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// checkTrusted refuses a config file that someone other than the user could
// have written: the file says where credentials are sent (a registry's
// token URL, the variable its client secret is read from), so it must be as
// trusted as the store. The file and its directory must be owned by the
// user (or root) and not writable by group or others (a directory with the
// sticky bit, such as /tmp, may be), as OpenSSH's StrictModes and git's
// safe.directory ask.
func checkTrusted(path string, fi fs.FileInfo) error {
	euid := uint32(os.Geteuid())
	if err := trusted(path, fi, euid, false); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("failed to check config directory %s: %v", dir, err)
	}
	return trusted(dir, di, euid, true)
}

func trusted(path string, fi fs.FileInfo, euid uint32, isDir bool) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	what := "config file"
	if isDir {
		what = "config directory"
	}
	if st.Uid != euid && st.Uid != 0 {
		return fmt.Errorf("refusing %s %s: it is owned by uid %d, not by you (uid %d); it decides where credentials are sent", what, path, st.Uid, euid)
	}
	if fi.Mode().Perm()&0o022 != 0 && !(isDir && fi.Mode()&fs.ModeSticky != 0) {
		return fmt.Errorf("refusing %s %s: it is writable by group or others (mode %04o); it decides where credentials are sent", what, path, fi.Mode().Perm())
	}
	return nil
}
