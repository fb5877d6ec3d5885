package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
)

// BenchmarkMemory measures token and check of the built binary against the
// loopback registries, cold (--no-cache: the full flow) and warm (the
// remembered challenge and token), with the requests counted at the
// counting front reported per run:
//
//	go test ./tests/registry/ -run '^$' -bench Memory -benchtime 50x
func BenchmarkMemory(b *testing.B) {
	if fx == nil {
		b.Skip(skipReason)
	}
	for _, bc := range []struct {
		name     string
		upstream func() string
		args     []string
	}{
		{"token/bearer/cold", func() string { return fx.TokenHost }, []string{"token", "--scope", "repository:alice/bench:pull", "--no-cache"}},
		{"token/bearer/warm", func() string { return fx.TokenHost }, []string{"token", "--scope", "repository:alice/bench:pull"}},
		// %d: a scope never asked before, on a registry already known.
		{"token/bearer/new-scope", func() string { return fx.TokenHost }, []string{"token", "--scope", "repository:alice/bench-%d:pull"}},
		{"check/bearer/cold", func() string { return fx.TokenHost }, []string{"check", "--scope", "repository:alice/bench:pull", "--no-cache"}},
		{"check/bearer/warm", func() string { return fx.TokenHost }, []string{"check", "--scope", "repository:alice/bench:pull"}},
		{"check/basic/cold", func() string { return fx.BasicHost }, []string{"check", "--no-cache"}},
		{"check/basic/warm", func() string { return fx.BasicHost }, []string{"check"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fr := newCountingFront(b, fx, bc.upstream())
			s := newSandbox(b, fx)
			host := fr.host()
			s.store(b, host, testUser, fx.Password)
			run := func(i int) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				args := []string{bc.args[0], host, "--json"}
				for _, a := range bc.args[1:] {
					if strings.Contains(a, "%d") {
						a = fmt.Sprintf(a, i)
					}
					args = append(args, a)
				}
				cmd := exec.CommandContext(ctx, bin, args...)
				cmd.Env = s.env
				r, err := helperbin.Run(cmd)
				var out struct{ Requests int }
				if err != nil || r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &out) != nil {
					b.Fatalf("%v: %v, exit %d: %s %s", args, err, r.Code, r.Stdout, r.Stderr)
				}
			}
			run(-1) // learn the challenge and the token
			fr.take()
			b.ResetTimer()
			for i := range b.N {
				run(i)
			}
			b.StopTimer()
			_, _, total := fr.take()
			b.ReportMetric(float64(total)/float64(b.N), "requests/op")
		})
	}
}
