package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/oidctest"
)

// exchangeLifetime is the access tokens' lifetime at the test provider. The
// helper serves a cached token until a quarter of its life is left, so a
// token is stale 3/4 of it after it was issued, and the token a refresh
// brings is served, without another refresh, for 3/4 of it: the window in
// which all the concurrent gets of a round must have finished.
const exchangeLifetime = 12 * time.Second

var userCodeRE = regexp.MustCompile(`enter the code:\n\n    (\S+)\n`)

// TestTokenExchangeConcurrentRefresh logs in to a real OpenID provider
// (zitadel's, internal/testutil/oidctest) with the device flow through the
// binary, waits until the cached access token is stale, then starts many
// `get` processes at once, each round: the provider sees exactly one
// refresh per round, every get answers the same new access token (never the
// refresh token), and no get fails. The provider rotates refresh tokens, so
// a second refresh with the spent token would fail with invalid_grant.
//
//	RELIABILITY_EXCHANGE_PROCS   concurrent gets per round (default 32)
//	RELIABILITY_EXCHANGE_ROUNDS  rounds (default 1)
func TestTokenExchangeConcurrentRefresh(t *testing.T) {
	procs := envInt(t, "RELIABILITY_EXCHANGE_PROCS", 32)
	rounds := envInt(t, "RELIABILITY_EXCHANGE_ROUNDS", 1)
	p := oidctest.Start(t, oidctest.Options{AccessTokenLifetime: exchangeLifetime})
	s := newSandbox(t)
	const registry = "registry.example.com"

	issued := deviceLogin(t, s, p, registry)
	prev := ""
	var total, refreshes int
	for round := 1; round <= rounds; round++ {
		// Stale from issued + 3/4 of the lifetime on.
		time.Sleep(time.Until(issued.Add(exchangeLifetime*3/4 + 300*time.Millisecond)))
		before := len(p.Refreshes())
		start := time.Now()
		results := concurrentGets(t, s, registry, procs)
		elapsed := time.Since(start)
		n := len(p.Refreshes()) - before
		refreshes += n
		total += len(results)
		if elapsed >= exchangeLifetime*3/4 {
			t.Fatalf("round %d: %d gets took %v, longer than a refreshed token stays fresh (%v): the count below would not mean anything", round, procs, elapsed, exchangeLifetime*3/4)
		}
		tokens := map[string]int{}
		for _, r := range results {
			if r.Code != 0 {
				t.Errorf("round %d: get: %v", round, r)
				continue
			}
			var c cred
			if err := json.Unmarshal([]byte(r.Stdout), &c); err != nil {
				t.Errorf("round %d: get printed %q: %v", round, r.Stdout, err)
				continue
			}
			if c.Username != "oauth2accesstoken" || c.Secret == "" {
				t.Errorf("round %d: get answered username %q and a secret of %d bytes", round, c.Username, len(c.Secret))
			}
			tokens[c.Secret]++
		}
		if n != 1 {
			t.Errorf("round %d: %d concurrent gets on a stale access token made %d refreshes at the provider, want exactly 1", round, procs, n)
		}
		if len(tokens) != 1 {
			t.Errorf("round %d: the gets answered %d different access tokens, want 1", round, len(tokens))
		}
		for tok := range tokens {
			if tok == prev {
				t.Errorf("round %d: the gets answered the stale access token", round)
			}
			prev = tok
		}
		for _, rq := range p.Refreshes() {
			if rq.RefreshToken != "" && strings.Contains(prev, rq.RefreshToken) {
				t.Errorf("round %d: get handed out the refresh token", round)
			}
		}
		t.Logf("round %d: %d concurrent gets in %v, %d refresh at the provider, %d access token answered", round, procs, elapsed.Round(time.Millisecond), n, len(tokens))
		// The refresh happened before the last get ended.
		issued = time.Now()
	}
	t.Logf("total: %d rounds, %d gets, %d refreshes at the provider", rounds, total, refreshes)
}

// deviceLogin runs `login` with the device flow against p, approving the
// code it shows as the user would in a browser, and returns a time after
// the access token it cached was issued.
func deviceLogin(t *testing.T, s *sandbox, p *oidctest.Provider, registry string) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "login", "--issuer", p.Issuer, "--client-id", oidctest.PublicClientID,
		"--scope", "openid,offline_access", registry)
	cmd.Env = s.Env
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		errText bytes.Buffer
		approve error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := bufio.NewReader(stderr)
		var seen bytes.Buffer
		approved := false
		for {
			line, err := r.ReadString('\n')
			seen.WriteString(line)
			if m := userCodeRE.FindStringSubmatch(seen.String()); m != nil && !approved {
				approved = true
				approve = p.Approve(ctx, m[1])
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					approve = errors.Join(approve, err)
				}
				errText.Write(seen.Bytes())
				return
			}
		}
	}()
	wg.Wait()
	err = cmd.Wait()
	if approve != nil {
		t.Fatalf("approving the device login: %v", approve)
	}
	if err != nil || stdout.String() != "Login Succeeded\n" {
		t.Fatalf("login: %v, stdout %q, stderr %q", err, stdout.String(), errText.String())
	}
	return time.Now()
}

// concurrentGets starts n get processes and releases them at once.
func concurrentGets(t *testing.T, s *sandbox, registry string, n int) []result {
	t.Helper()
	results := make([]result, n)
	release := make(chan struct{})
	var ready, done sync.WaitGroup
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-release
			results[i] = s.run(t, registry, "get")
		}()
	}
	ready.Wait()
	close(release)
	done.Wait()
	return results
}
