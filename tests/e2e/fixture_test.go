// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"os/exec"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/registryfixture"
)

// The user of both registries. The token server grants scopes only on
// repositories under "<user>/", so every repository is alice/….
const testUser = "alice"

// secondUser holds the namespace bob/ on the token registry: the rows that
// give one registry a credential per namespace use it.
const secondUser = "bob"

// The token registry's service and the token server's issuer; they must
// agree between the two.
const (
	tokenService = "e2e-registry"
	tokenIssuer  = "e2e-token-server"
)

// serversReadyTimeout bounds the start of the servers.
const serversReadyTimeout = 60 * time.Second

// endpoint is one registry as clients see it.
type endpoint struct {
	// Scheme is "basic" or "token".
	Scheme string
	// Host is 127.0.0.1:<port>, what clients log in to.
	Host string
}

// fixture is the servers every row shares, started once per test binary
// run by internal/testutil/registryfixture; its fields are the suite's view
// of them.
type fixture struct {
	dir      string
	caFile   string // the test CA, PEM
	caPEM    []byte
	certFile string // the servers' certificate, for 127.0.0.1
	keyFile  string
	password string // testUser's password on both registries
	// secondPassword is secondUser's.
	secondPassword string

	basic endpoint // registry with htpasswd, TLS
	token endpoint // TLS front: /v2/ to the registry, /token/ to the token server

	roots *x509.CertPool
	srv   *registryfixture.Servers
}

// startFixture writes a throwaway CA and the servers' configuration into dir
// and starts registry (Basic), token-server, registry (token) and the TLS
// front of the latter two. On error nothing is left running.
func startFixture(ctx context.Context, dir string, peers *peerSet) (*fixture, error) {
	ctx, cancel := context.WithTimeout(ctx, serversReadyTimeout)
	defer cancel()
	s, err := registryfixture.Start(ctx, registryfixture.Options{
		Dir:         dir,
		Registry:    peers.path("registry"),
		TokenServer: peers.path("token-server"),
		Name:        "e2e",
		User:        testUser,
		SecondUser:  secondUser,
		Service:     tokenService,
		Issuer:      tokenIssuer,
		ClientID:    "e2e",
	})
	if err != nil {
		return nil, err
	}
	return &fixture{
		dir:            s.Dir,
		caFile:         s.CAFile,
		caPEM:          s.CAPEM,
		certFile:       s.CertFile,
		keyFile:        s.KeyFile,
		password:       s.Password,
		secondPassword: s.SecondPassword,
		basic:          endpoint{Scheme: "basic", Host: s.BasicHost},
		token:          endpoint{Scheme: "token", Host: s.TokenHost},
		roots:          s.Roots,
		srv:            s,
	}, nil
}

// registryConfig is a distribution v3 configuration. tls and auth are YAML
// fragments indented under http: and auth:.
func registryConfig(storage, addr, tls, auth string) string {
	return registryfixture.RegistryConfig(storage, addr, tls, auth)
}

// httpClient trusts the test CA.
func (f *fixture) httpClient() *http.Client { return f.srv.HTTPClient() }

// waitReady polls GET /v2/ until the registry challenges (401), for at
// most a minute.
func (f *fixture) waitReady(ctx context.Context, e endpoint) error {
	ctx, cancel := context.WithTimeout(ctx, serversReadyTimeout)
	defer cancel()
	return f.srv.WaitChallenge(ctx, e.Host)
}

// refreshToken asks the token server, through the front, for a refresh
// token for testUser (GET with offline_token=true, as the docker daemon
// does at login).
func (f *fixture) refreshToken(ctx context.Context) (string, error) {
	return f.srv.RefreshToken(ctx)
}

// close stops every server.
func (f *fixture) close() { f.srv.Close() }

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// could take it before the server binds it; the readiness check would then
// fail loudly.
func freePort() (int, error) {
	addr, err := registryfixture.FreeAddr()
	if err != nil {
		return 0, err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return net.LookupPort("tcp", port)
}

// process is a server or daemon started in its own process group, which
// stop kills as a whole; Pdeathsig kills it too if the test binary dies
// first.
type process struct {
	*registryfixture.Process
	name    string
	logFile string
}

// startProcess starts a server with the test's environment minus proxies,
// its output in dir/name.log.
func startProcess(dir, name, path string, args ...string) (*process, error) {
	return startCmd(dir, name, exec.Command(path, args...))
}

// startCmd starts cmd as startProcess does; cmd's own Env (nil: the
// test's minus proxies), Stdin and ExtraFiles are kept.
func startCmd(dir, name string, cmd *exec.Cmd) (*process, error) {
	p, err := registryfixture.StartProcess(dir, name, cmd)
	if err != nil {
		return nil, err
	}
	return &process{Process: p, name: p.Name, logFile: p.LogFile}, nil
}

func (p *process) exited() bool { return p.Exited() }

// stop sends SIGTERM to the process group, then SIGKILL after 5 seconds.
func (p *process) stop() { p.Stop() }

// serverEnv is the environment of the servers: the test's, without proxies.
func serverEnv() []string { return registryfixture.ServerEnv() }

// tail returns the last n lines of a file.
func tail(path string, n int) string { return registryfixture.Tail(path, n) }
