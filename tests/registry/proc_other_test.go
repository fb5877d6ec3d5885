//go:build !linux

package registry

import "os/exec"

func setProcAttr(*exec.Cmd) {}

// stopProcess kills the server.
func stopProcess(p *process) {
	_ = p.cmd.Process.Kill()
	<-p.done
}
