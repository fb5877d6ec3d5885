//go:build !unix

package registryauth

import "io/fs"

// trustedFile has no owner or mode to check outside Unix; the ACLs of the
// user's profile protect the cache directory.
func trustedFile(_ string, fi fs.FileInfo) bool { return fi.Mode().IsRegular() }
