package reliability

import "github.com/notaryproject/docker-credential-notation/internal/keyctl"

// keyctlWorks reports whether the kernel keyring answers here (Linux, not
// blocked by a seccomp profile).
func keyctlWorks() bool {
	_, err := keyctl.New(binName + ":test-probe").Load()
	return err == nil
}
