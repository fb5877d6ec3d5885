package registryfixture

import (
	"os/exec"
	"syscall"
	"time"
)

// setProcAttr starts a process in its own process group, killed with the
// test binary should that die first.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
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
