//go:build !linux

package registryfixture

import "os/exec"

func setProcAttr(*exec.Cmd) {}

// stopProcess kills the process.
func stopProcess(p *Process) {
	_ = p.Cmd.Process.Kill()
	<-p.done
}
