// Package registry tests the token and check commands of the built
// docker-credential-notation binary against real servers: distribution's
// registry v3 with htpasswd Basic auth over TLS, and the same registry with
// token auth against distribution's contrib token server, both on
// 127.0.0.1 with a test CA generated here.
//
// The servers are the pinned peers that scripts/install-peers.sh builds
// into ${PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/docker-credential-notation/peers}:
//
//	scripts/install-peers.sh registry token-server
//
// Without them the tests skip, saying so, unless the environment variable
// CI is set: then they fail.
package registry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
	"github.com/notaryproject/docker-credential-notation/internal/testutil/registryfixture"
)

// binName is the program's name, as clients call it.
const binName = helperbin.Name

// The peers, as install-peers.sh lays them out.
var peers = []struct{ name, version, binary string }{
	{"registry", "v3.1.2", "registry"},
	{"token-server", "v2.8.3+incompatible", "token-server"},
}

var (
	// bin is the built binary.
	bin string
	// fx is the running servers; nil when skipping.
	fx *fixture
	// skipReason says why the tests skip.
	skipReason string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	paths, err := findPeers()
	if err != nil {
		msg := fmt.Sprintf("registry tests: %v; install them with: scripts/install-peers.sh registry token-server", err)
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, msg+" (CI is set: failing instead of skipping)")
			return 1
		}
		skipReason = msg
		return m.Run()
	}

	var remove func()
	bin, remove, err = helperbin.BuildTemp("dcn-registry-bin-", "v0.0.0-registry")
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry tests:", err)
		return 1
	}
	defer remove()
	tmp, err := os.MkdirTemp("", "dcn-registry-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry tests:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	fx, err = startFixture(ctx, filepath.Join(tmp, "servers"), paths)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry tests: failed to start the servers:", err)
		return 1
	}
	defer fx.Close()
	return m.Run()
}

// requireFixture skips the test when the peers are not installed.
func requireFixture(t *testing.T) *fixture {
	t.Helper()
	if fx == nil {
		t.Skip(skipReason)
	}
	return fx
}

// findPeers returns the path of each peer binary by name.
func findPeers() (map[string]string, error) {
	dir, err := registryfixture.PeersDir()
	if err != nil {
		return nil, err
	}
	paths := map[string]string{}
	var missing []string
	for _, p := range peers {
		path := filepath.Join(dir, p.name+"-"+p.version, p.binary+helperbin.ExeSuffix())
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			missing = append(missing, path)
			continue
		}
		paths[p.name] = path
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("peers not installed: %s", strings.Join(missing, ", "))
	}
	return paths, nil
}
