//go:build !unix

package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
)

func openNonBlocking(path string, follow bool) (*os.File, error) {
	if !follow {
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, fmt.Errorf("%s %w", path, ErrSymlink)
		}
	}
	return os.Open(path)
}
