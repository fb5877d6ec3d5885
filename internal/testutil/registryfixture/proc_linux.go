package registryfixture

import (
	"os/exec"
	"syscall"
	"time"
)

// setProcAttr starts a process in its own process group, killed with the
// test binary should that die first; a Credential the caller set (another
// user to run as) is kept.
func setProcAttr(cmd *exec.Cmd) {
	var cred *syscall.Credential
	if cmd.SysProcAttr != nil {
		cred = cmd.SysProcAttr.Credential
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// stopProcess sends SIGTERM to the process group, then SIGKILL after 5 s.
func stopProcess(p *Process) {
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}
