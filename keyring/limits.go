package keyring

import (
	"math"
	"strings"
)

// The size of one keychain item, per platform. A secret or an index that does
// not fit in one item is split into parts that do (see split), so that no
// user ever meets these limits; they are functions of the platform name so
// that tests on Linux take the macOS and Windows paths too.

// noLimit is the capacity of an item on a platform without a limit.
const noLimit = math.MaxInt

// itemCapacity returns how many bytes of data one item named user may hold
// under service on the platform goos, or noLimit.
func itemCapacity(goos, service, user string) int {
	switch goos {
	case "darwin":
		return darwinCapacity(service, user)
	case "windows":
		return windowsCapacity(service, user)
	}
	// The Secret Service has no item size limit (go-keyring round-trips
	// 70,000 bytes; gnome-keyring keeps items of megabytes).
	return noLimit
}

// On macOS, go-keyring hands `security -i` one command line,
//
//	add-generic-password -U -s SERVICE -a USER -w go-keyring-base64:BASE64\n
//
// with SERVICE and USER shell-quoted and the password base64-encoded, and
// refuses (ErrSetDataTooBig) a line over 4096 bytes. That leaves about 3000
// bytes of data for short names.
const (
	darwinLineMax = 4096
	// darwinMargin is kept free below the line limit, for security's own
	// line buffer and quoting that may change between go-keyring versions.
	darwinMargin = 256
	// darwinFixed is the line without its three arguments.
	darwinFixed = len("add-generic-password -U -s  -a  -w go-keyring-base64:\n")
)

func darwinCapacity(service, user string) int {
	avail := darwinLineMax - darwinMargin - darwinFixed - len(shellQuote(service)) - len(shellQuote(user))
	if avail < 4 {
		return 0
	}
	return avail / 4 * 3 // base64: 4 bytes of text per 3 bytes of data
}

// shellQuote quotes s as go-keyring's internal shellescape.Quote does.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// On Windows, go-keyring refuses a password (the credential blob) over 2560
// bytes and a service name of 512 bytes or more; the Credential Manager
// itself limits the user name to 513 characters (CRED_MAX_USERNAME_LENGTH).
const (
	windowsBlobMax    = 2560
	windowsServiceMax = 511
	windowsUserMax    = 513
)

func windowsCapacity(service, user string) int {
	if len(service) > windowsServiceMax || len(user) > windowsUserMax {
		return 0
	}
	return windowsBlobMax
}
