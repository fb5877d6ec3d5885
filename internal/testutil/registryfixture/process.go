package registryfixture

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Process is a server or daemon a test started: in its own process group
// on Linux, which Stop ends as a whole and which dies with the test binary
// (Pdeathsig).
type Process struct {
	// Name names the process in messages; its output is in LogFile.
	Name    string
	LogFile string
	Cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// StartProcess starts cmd in dir with its stdout and stderr in
// dir/name.log. A nil cmd.Env means ServerEnv(); cmd's Stdin and
// ExtraFiles are kept.
func StartProcess(dir, name string, cmd *exec.Cmd) (*Process, error) {
	logFile := filepath.Join(dir, name+".log")
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.Env == nil {
		cmd.Env = ServerEnv()
	}
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("failed to start %s: %v", name, err)
	}
	p := &Process{Name: name, LogFile: logFile, Cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the process ended (cmd.Wait's error); nil while it runs.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// Stop ends the process (on Linux SIGTERM to its group, then SIGKILL
// after 5 s) and waits for it.
func (p *Process) Stop() {
	if p.Exited() {
		return
	}
	stopProcess(p)
}

// ServerEnv is the test's environment without proxy settings: every
// server here is on 127.0.0.1.
func ServerEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// FreeAddr asks the kernel for a free port on 127.0.0.1 and returns
// 127.0.0.1:<port>. Another process could take it before the server binds
// it; the readiness check would then fail loudly.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Tail returns the last n lines of a file, or why it cannot.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// PeersDir is the directory scripts/install-peers.sh installs the peers
// into: $PEERS_DIR, by default
// ${XDG_CACHE_HOME:-$HOME/.cache}/docker-credential-notation/peers. Each Go
// peer is in <name>-<version>/ below it, and bin/ links every peer.
func PeersDir() (string, error) {
	if d := os.Getenv("PEERS_DIR"); d != "" {
		return d, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "docker-credential-notation", "peers"), nil
}
