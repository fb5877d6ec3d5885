//go:build linux

package main

import "golang.org/x/sys/unix"

// hardenProcess makes the process non-dumpable and disables core files, as
// ssh-agent and gpg-agent do: while it holds a decrypted key and
// credentials, other processes of the user cannot ptrace it or read its
// /proc/<pid>/mem and /proc/<pid>/environ (which still holds the secrets
// the environment gave it), and a crash leaves no core with them.
func hardenProcess() {
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}
