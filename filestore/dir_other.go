//go:build !unix

package filestore

import "io/fs"

// checkStoreDir has no owner or mode to check outside Unix: Windows ACLs
// of the user's profile protect the default location.
func checkStoreDir(string) error { return nil }

func ownedByOther(fs.FileInfo) (uint32, bool) { return 0, false }
