package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notaryproject/docker-credential-notation/internal/testutil/helperbin"
)

// countingFront is a TLS reverse proxy in front of one of the fixture's
// registries that counts the requests reaching it: the helper's own report
// is checked against it, never taken on trust. The registry's realm is
// rewritten to the front's address, so the token requests pass through it
// too (and the realm stays on the registry's host and port).
type countingFront struct {
	srv      *httptest.Server
	upstream string

	mu     sync.Mutex
	counts map[string]int
	// tokenBody, when set, rewrites each token response's JSON.
	tokenBody func(map[string]any)
}

func newCountingFront(t testing.TB, f *fixture, upstream string) *countingFront {
	t.Helper()
	c := &countingFront{upstream: upstream, counts: map[string]int{}}
	target := &url.URL{Scheme: "https", Host: upstream}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = upstream
		},
		Transport: f.HTTPClient().Transport,
		ModifyResponse: func(resp *http.Response) error {
			if vs := resp.Header.Values("Www-Authenticate"); len(vs) > 0 {
				resp.Header.Del("Www-Authenticate")
				for _, v := range vs {
					resp.Header.Add("Www-Authenticate", strings.ReplaceAll(v, "https://"+upstream+"/", "https://"+c.host()+"/"))
				}
			}
			c.mu.Lock()
			rewrite := c.tokenBody
			c.mu.Unlock()
			if rewrite == nil || !strings.HasPrefix(resp.Request.URL.Path, "/token/") || resp.StatusCode != http.StatusOK {
				return nil
			}
			b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if err != nil {
				return err
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			rewrite(m)
			b, _ = json.Marshal(m)
			resp.Body = io.NopCloser(bytes.NewReader(b))
			resp.ContentLength = int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		},
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "v2"
		if strings.HasPrefix(r.URL.Path, "/token/") {
			kind = "token"
		}
		c.mu.Lock()
		c.counts[kind]++
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	c.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	c.srv.StartTLS()
	t.Cleanup(c.srv.Close)
	return c
}

func (c *countingFront) host() string { return strings.TrimPrefix(c.srv.URL, "https://") }

// take returns the requests counted since the last take, by kind ("v2",
// "token") and in all.
func (c *countingFront) take() (v2, token, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v2, token = c.counts["v2"], c.counts["token"]
	c.counts = map[string]int{}
	return v2, token, v2 + token
}

// tokenOut is token --json's output.
type tokenOut struct {
	Token      string `json:"token"`
	ExpiresIn  int64  `json:"expiresIn"`
	Cached     bool   `json:"cached"`
	Remembered bool   `json:"challengeRemembered"`
	Requests   int    `json:"requests"`
}

func (s *sandbox) tokenJSON(t *testing.T, host string, args ...string) tokenOut {
	t.Helper()
	r := s.run(t, "", append([]string{"token", host, "--json"}, args...)...)
	var out tokenOut
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &out) != nil || out.Token == "" {
		t.Fatalf("token %s %v: exit %d\nstdout: %s\nstderr: %s", host, args, r.Code, r.Stdout, r.Stderr)
	}
	return out
}

// memReport is check --json's output, with how it was obtained.
type memReport struct {
	Authenticated bool   `json:"authenticated"`
	Failure       string `json:"failure"`
	Scheme        string `json:"scheme"`
	Cached        bool   `json:"cached"`
	Remembered    bool   `json:"challengeRemembered"`
	Requests      int    `json:"requests"`
}

func (s *sandbox) checkJSON(t *testing.T, host string, args ...string) (memReport, result) {
	t.Helper()
	r := s.run(t, "", append([]string{"check", host, "--json"}, args...)...)
	var rep memReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("check --json: %v\nstdout: %s\nstderr: %s", err, r.Stdout, r.Stderr)
	}
	return rep, r
}

// wantCounts compares what the front counted with what is expected, and
// with what the helper reported.
func wantCounts(t *testing.T, what string, fr *countingFront, reported, wantV2, wantToken int) {
	t.Helper()
	v2, token, total := fr.take()
	t.Logf("%s: %d %d reported %d", what, v2, token, reported)
	if v2 != wantV2 || token != wantToken {
		t.Errorf("%s: the server counted %d /v2/ and %d token requests, want %d and %d", what, v2, token, wantV2, wantToken)
	}
	if reported != total {
		t.Errorf("%s: the helper reported %d requests, the server counted %d", what, reported, total)
	}
}

// TestMemoryBearer: cold, warm, a new scope, check on a remembered token,
// --no-cache, and store/erase dropping the tokens, counted at the server.
func TestMemoryBearer(t *testing.T) {
	f := requireFixture(t)
	fr := newCountingFront(t, f, f.TokenHost)
	host := fr.host()
	s := newSandbox(t, f)
	s.store(t, host, testUser, f.Password)
	pull := []string{"--scope", "repository:alice/mem:pull"}

	// Cold: ping, the OAuth2 POST the contrib token server refuses, the
	// token GET, and the confirmation on /v2/.
	cold := s.tokenJSON(t, host, pull...)
	if cold.Cached || cold.Remembered {
		t.Errorf("cold: %+v", cold)
	}
	wantCounts(t, "cold token", fr, cold.Requests, 2, 2)
	if code, body := f.get(t, f.TokenHost, "/v2/alice/mem/tags/list", cold.Token); code == http.StatusUnauthorized {
		t.Fatalf("the registry refuses the token: %d %s", code, body)
	}

	// Warm, same scope: nothing is sent.
	warm := s.tokenJSON(t, host, "--scope", "repository:alice/mem:pull", "--scope", "repository:alice/mem:pull")
	if !warm.Cached || !warm.Remembered || warm.Token != cold.Token {
		t.Errorf("warm: cached %v, remembered %v, same token %v", warm.Cached, warm.Remembered, warm.Token == cold.Token)
	}
	wantCounts(t, "warm token", fr, warm.Requests, 0, 0)

	// A new scope on a known registry: the token GET only (the memory
	// knows the token server refuses the POST).
	other := s.tokenJSON(t, host, "--scope", "repository:alice/mem:pull,push")
	if other.Cached || !other.Remembered || other.Token == cold.Token {
		t.Errorf("new scope: %+v", other)
	}
	wantCounts(t, "token, new scope", fr, other.Requests, 0, 1)
	if got := grantedActions(t, other.Token, "alice/mem"); strings.Join(got, ",") != "pull,push" {
		t.Errorf("new scope's token grants %v", got)
	}

	// check presents the remembered token on /v2/: one request.
	rep, r := s.checkJSON(t, host, pull...)
	if r.Code != 0 || !rep.Authenticated || !rep.Cached || !rep.Remembered {
		t.Errorf("check: exit %d, %+v\n%s", r.Code, rep, r.Stderr)
	}
	wantCounts(t, "check, remembered token", fr, rep.Requests, 1, 0)

	// --no-cache asks afresh, and what it gets replaces the memory.
	fresh := s.tokenJSON(t, host, append(pull, "--no-cache")...)
	if fresh.Cached || fresh.Remembered {
		t.Errorf("--no-cache: %+v", fresh)
	}
	wantCounts(t, "token --no-cache", fr, fresh.Requests, 2, 2)
	after := s.tokenJSON(t, host, pull...)
	if !after.Cached || after.Token != fresh.Token {
		t.Errorf("after --no-cache: cached %v, its token %v", after.Cached, after.Token == fresh.Token)
	}
	wantCounts(t, "token after --no-cache", fr, after.Requests, 0, 0)

	// Nothing secret in the challenge file, which is the user's alone;
	// nothing of the memory in list.
	file := filepath.Join(s.home(), ".cache", "docker-credential-notation", "registries.json")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v", file, fi.Mode().Perm())
	}
	for _, secret := range []string{f.Password, cold.Token, fresh.Token, other.Token} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the challenge file holds a secret:\n%s", b)
		}
	}
	if !strings.Contains(string(b), `"realm": "https://`+host+`/token/"`) && !strings.Contains(string(b), `"realm":"https://`+host+`/token/"`) {
		t.Errorf("the challenge file lacks the realm:\n%s", b)
	}
	if l := s.run(t, "", "list"); strings.Contains(l.Stdout, "@") {
		t.Errorf("list shows the memory: %s", l.Stdout)
	}
	if raw, _ := os.ReadFile(filepath.Join(s.storeDir(), "store.age")); bytes.Contains(raw, []byte(cold.Token)) || bytes.Contains(raw, []byte(fresh.Token)) {
		t.Error("the store file holds a token in the clear")
	}
	// A client cannot store the reserved key, nor read it.
	if r := s.run(t, `{"ServerURL":"`+host+`/@registry-tokens","Username":"x","Secret":"y"}`, "store"); r.Code == 0 {
		t.Error("store accepted the reserved key")
	}
	if r := s.run(t, host+"/@registry-tokens", "get"); r.Code == 0 {
		t.Errorf("get answered the reserved key: %s", r.Stdout)
	}

	// Storing the credential again (docker login) drops its tokens.
	s.store(t, host, testUser, f.Password)
	relog := s.tokenJSON(t, host, pull...)
	if relog.Cached || !relog.Remembered {
		t.Errorf("after store: %+v", relog)
	}
	wantCounts(t, "token after store", fr, relog.Requests, 0, 1)

	// Erasing it drops them too: after a new login the token is new.
	if r := s.run(t, host, "erase"); r.Code != 0 {
		t.Fatalf("erase: %d %s", r.Code, r.Stdout)
	}
	if r := s.run(t, "", "token", host, "--scope", "repository:alice/mem:pull"); r.Code != 1 || r.Stdout != "" {
		t.Errorf("token after erase: exit %d, stdout %q", r.Code, r.Stdout)
	}
	fr.take()
	s.store(t, host, testUser, f.Password)
	again := s.tokenJSON(t, host, pull...)
	if again.Cached {
		t.Errorf("after erase and store: %+v", again)
	}
	wantCounts(t, "token after erase", fr, again.Requests, 0, 1)

	// Another credential never gets the token of the first: a wrong
	// password is refused by the token server, once, then by the full
	// flow (the memory is never taken for the answer).
	s.store(t, host, testUser, f.Password)
	_ = s.tokenJSON(t, host, pull...) // remembered again
	fr.take()
	s.store(t, host, testUser, "not-the-password")
	r = s.run(t, "", "token", host, "--scope", "repository:alice/mem:pull")
	if r.Code != 1 || r.Stdout != "" || !strings.Contains(r.Stderr, "rejected") {
		t.Errorf("wrong password: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	// The remembered GET (401), then the full flow: ping, POST, GET.
	if v2, token, _ := fr.take(); v2 != 1 || token != 3 {
		t.Errorf("wrong password: the server counted %d /v2/ and %d token requests, want 1 and 3", v2, token)
	}
}

// TestMemoryBasic: a registry known to use Basic gets one request; a
// password it refuses runs the full flow once, not in a loop.
func TestMemoryBasic(t *testing.T) {
	f := requireFixture(t)
	fr := newCountingFront(t, f, f.BasicHost)
	host := fr.host()
	s := newSandbox(t, f)
	s.store(t, host, testUser, f.Password)

	rep, r := s.checkJSON(t, host)
	if r.Code != 0 || !rep.Authenticated || rep.Remembered || rep.Scheme != "Basic" {
		t.Fatalf("cold check: exit %d, %+v\n%s", r.Code, rep, r.Stderr)
	}
	wantCounts(t, "cold check", fr, rep.Requests, 2, 0)

	rep, r = s.checkJSON(t, host)
	if r.Code != 0 || !rep.Authenticated || !rep.Remembered {
		t.Fatalf("warm check: exit %d, %+v\n%s", r.Code, rep, r.Stderr)
	}
	wantCounts(t, "warm check", fr, rep.Requests, 1, 0)

	s.store(t, host, testUser, "not-the-password")
	rep, r = s.checkJSON(t, host)
	if r.Code != 1 || rep.Failure != "rejected" || rep.Remembered {
		t.Errorf("wrong password: exit %d, %+v", r.Code, rep)
	}
	// The remembered attempt (401), then ping and attempt: three.
	wantCounts(t, "wrong password", fr, rep.Requests, 3, 0)
}

// TestMemoryExpiry: a token is kept no longer than expires_in (less a
// margin), counted from issued_at when the server sends one.
func TestMemoryExpiry(t *testing.T) {
	f := requireFixture(t)
	pull := []string{"--scope", "repository:alice/exp:pull"}

	t.Run("expires_in", func(t *testing.T) {
		fr := newCountingFront(t, f, f.TokenHost)
		// The JWT lives 15 minutes; the response says 3 s, and the helper
		// must believe the response.
		fr.tokenBody = func(m map[string]any) { m["expires_in"] = 3; delete(m, "issued_at") }
		host := fr.host()
		s := newSandbox(t, f)
		s.store(t, host, testUser, f.Password)
		start := time.Now()
		first := s.tokenJSON(t, host, pull...)
		received := time.Now() // the token was received before this
		fr.take()
		second := s.tokenJSON(t, host, pull...)
		if time.Since(start) < 2*time.Second { // the margin: a quarter of 3 s
			if !second.Cached || second.Token != first.Token {
				t.Errorf("within its life: %+v", second)
			}
			wantCounts(t, "within its life", fr, second.Requests, 0, 0)
		} else {
			t.Logf("the machine is too slow to see the token within its life")
		}
		time.Sleep(time.Until(received.Add(3 * time.Second)))
		fr.take()
		third := s.tokenJSON(t, host, pull...)
		if third.Cached {
			t.Errorf("after its life: %+v", third)
		}
		wantCounts(t, "after its life", fr, third.Requests, 0, 1)
	})

	t.Run("issued_at", func(t *testing.T) {
		fr := newCountingFront(t, f, f.TokenHost)
		// Issued 899 s ago, living 900 s: one second left, less than the
		// margin, so never kept.
		fr.tokenBody = func(m map[string]any) {
			m["expires_in"] = 900
			m["issued_at"] = time.Now().Add(-899 * time.Second).UTC().Format(time.RFC3339)
		}
		host := fr.host()
		s := newSandbox(t, f)
		s.store(t, host, testUser, f.Password)
		_ = s.tokenJSON(t, host, pull...)
		fr.take()
		second := s.tokenJSON(t, host, pull...)
		if second.Cached {
			t.Errorf("a token at the end of its life was reused: %+v", second)
		}
		wantCounts(t, "issued_at", fr, second.Requests, 0, 1)
	})
}

// TestMemoryKeyRotation: after the token server's key rotates, the
// registry refuses the remembered token; check drops it and runs the full
// flow once, and token then hands out the new one.
func TestMemoryKeyRotation(t *testing.T) {
	requireFixture(t)
	paths, err := findPeers()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	own, err := startFixture(ctx, t.TempDir(), paths)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	fr := newCountingFront(t, own, own.TokenHost)
	host := fr.host()
	s := newSandbox(t, own)
	s.store(t, host, testUser, own.Password)
	pull := []string{"--scope", "repository:alice/rot:pull"}

	old := s.tokenJSON(t, host, pull...)
	rep, r := s.checkJSON(t, host, pull...)
	if r.Code != 0 || !rep.Cached {
		t.Fatalf("check before the rotation: exit %d, %+v\n%s", r.Code, rep, r.Stderr)
	}
	fr.take()

	if err := own.RotateTokenKey(ctx); err != nil {
		t.Fatal(err)
	}
	if code, _ := own.get(t, own.TokenHost, "/v2/alice/rot/tags/list", old.Token); code != http.StatusUnauthorized {
		t.Fatalf("the registry still takes the old token after the rotation: %d", code)
	}
	fr.take()

	rep, r = s.checkJSON(t, host, pull...)
	if r.Code != 0 || !rep.Authenticated || rep.Cached || rep.Remembered {
		t.Fatalf("check after the rotation: exit %d, %+v\n%s", r.Code, rep, r.Stderr)
	}
	// The refused token (1), then the full flow: ping, POST, GET, confirm.
	wantCounts(t, "check after the rotation", fr, rep.Requests, 3, 2)

	now := s.tokenJSON(t, host, pull...)
	if !now.Cached || now.Token == old.Token {
		t.Errorf("token after the rotation: cached %v, the old token %v", now.Cached, now.Token == old.Token)
	}
	wantCounts(t, "token after the rotation", fr, now.Requests, 0, 0)
	if code, body := own.get(t, own.TokenHost, "/v2/alice/rot/tags/list", now.Token); code == http.StatusUnauthorized {
		t.Errorf("the registry refuses the new token: %s", body)
	}
}

// TestMemoryConcurrent: concurrent token processes for one scope on a
// known registry share one token request.
func TestMemoryConcurrent(t *testing.T) {
	f := requireFixture(t)
	fr := newCountingFront(t, f, f.TokenHost)
	host := fr.host()
	s := newSandbox(t, f)
	s.store(t, host, testUser, f.Password)
	if rep, r := s.checkJSON(t, host); r.Code != 0 || !rep.Authenticated {
		t.Fatalf("check: exit %d, %+v", r.Code, rep)
	}
	fr.take()

	const n = 8
	results := make([]result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "token", host, "--json", "--scope", "repository:alice/conc:pull")
			cmd.Env = s.env
			results[i], errs[i] = helperbin.Run(cmd)
		}()
	}
	wg.Wait()
	outs := make([]tokenOut, n)
	for i, r := range results {
		if errs[i] != nil || r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &outs[i]) != nil || outs[i].Token == "" {
			t.Fatalf("process %d: %v, exit %d\nstdout: %s\nstderr: %s", i, errs[i], r.Code, r.Stdout, r.Stderr)
		}
	}
	fetched, requests := 0, 0
	for _, o := range outs {
		if o.Token != outs[0].Token {
			t.Errorf("the processes got different tokens")
		}
		if !o.Cached {
			fetched++
		}
		requests += o.Requests
	}
	if fetched != 1 {
		t.Errorf("%d processes fetched a token, want 1", fetched)
	}
	wantCounts(t, "concurrent tokens", fr, requests, 0, 1)
}

// TestMemoryIdentityToken: an identity token (a refresh token the token
// server echoes) is remembered like a password: the second token for a
// scope sends nothing, a new scope one OAuth2 POST.
func TestMemoryIdentityToken(t *testing.T) {
	f := requireFixture(t)
	rt, err := f.RefreshToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fr := newCountingFront(t, f, f.TokenHost)
	host := fr.host()
	s := newSandbox(t, f)
	s.store(t, host, "<token>", rt)
	pull := []string{"--scope", "repository:alice/idt:pull"}

	cold := s.tokenJSON(t, host, pull...)
	wantCounts(t, "cold", fr, cold.Requests, 2, 1) // ping, POST, confirmation
	warm := s.tokenJSON(t, host, pull...)
	if !warm.Cached || warm.Token != cold.Token {
		t.Errorf("warm: %+v", warm)
	}
	wantCounts(t, "warm", fr, warm.Requests, 0, 0)
	other := s.tokenJSON(t, host, "--scope", "repository:alice/idt:pull,push")
	if other.Cached || !other.Remembered {
		t.Errorf("new scope: %+v", other)
	}
	wantCounts(t, "new scope", fr, other.Requests, 0, 1)
	if got := grantedActions(t, other.Token, "alice/idt"); strings.Join(got, ",") != "pull,push" {
		t.Errorf("new scope's token grants %v", got)
	}
}
