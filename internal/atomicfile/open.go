package atomicfile

import (
	"errors"
	"fmt"
	"os"
)

// ErrNotRegular is wrapped by OpenRegular's error for a FIFO, a device, a
// directory or a socket.
var ErrNotRegular = errors.New("not a regular file")

// OpenRegular opens path for reading only if it is a regular file. A FIFO
// planted in its place would block the open (and the pull waiting on the
// helper) forever, and a device such as /dev/zero would never end a read:
// the open does not block (O_NONBLOCK on Unix) and anything but a regular
// file is refused. With follow unset, a symbolic link is refused too (a
// file the helper itself writes, in its own directory).
func OpenRegular(path string, follow bool) (*os.File, error) {
	f, err := openNonBlocking(path, follow)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%w (%s)", ErrNotRegular, fi.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
