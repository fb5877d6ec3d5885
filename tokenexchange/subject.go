package tokenexchange

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/httppolicy"
	"github.com/notaryproject/docker-credential-notation/internal/scrub"
)

// maxSubjectToken bounds a subject token read from a file, a variable or
// the Actions runner: a JWT with many claims is a few KiB.
const maxSubjectToken = 64 << 10

// SubjectSource supplies a workload's platform token: the subject_token of
// the exchange (RFC 8693). It is read at each exchange and never written
// anywhere.
type SubjectSource interface {
	// SubjectToken returns the current token.
	SubjectToken(ctx context.Context) (string, error)
	// Identity returns, cheaply and without the network, a value that
	// changes when the workload's identity does (another job, another
	// service account), so that a cached credential is never served to
	// another identity; a rotated token of the same identity keeps it.
	Identity(ctx context.Context) (string, error)
	// String names the source for messages, never the token.
	String() string
}

// FileSubject reads the token from a file at each exchange (a projected
// Kubernetes service-account token, GitLab's id_tokens written to a file):
// surrounding whitespace is trimmed.
type FileSubject struct{ Path string }

func (f FileSubject) String() string { return "file " + f.Path }

func (f FileSubject) SubjectToken(context.Context) (string, error) {
	fi, err := os.Stat(f.Path)
	if err == nil && !fi.Mode().IsRegular() {
		// A FIFO would block the read, and the pull with it.
		err = errors.New("not a regular file")
	}
	var b []byte
	if err == nil {
		b, err = readBounded(f.Path)
	}
	if err != nil {
		return "", helper.WithHint(fmt.Errorf("failed to read the subject token from %s: %v", f, err),
			"the platform writes this file (a projected service-account token, a CI job's ID token): check the path in the registry's \"subjectToken\"")
	}
	return nonEmpty(f, string(b))
}

func (f FileSubject) Identity(ctx context.Context) (string, error) {
	t, err := f.SubjectToken(ctx)
	if err != nil {
		return "", err
	}
	return tokenIdentity(t), nil
}

func readBounded(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSubjectToken+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSubjectToken {
		return nil, fmt.Errorf("larger than %d bytes", maxSubjectToken)
	}
	return b, nil
}

func nonEmpty(src SubjectSource, t string) (string, error) {
	t = strings.TrimSpace(t)
	if t == "" {
		return "", fmt.Errorf("failed to read the subject token from %s: it is empty", src)
	}
	return t, nil
}

// EnvSubject is a token the composition root read from an environment
// variable (GitLab CI's id_tokens, a token a job step exported).
type EnvSubject struct {
	Name  string
	Value string
}

func (e EnvSubject) String() string { return "environment variable " + e.Name }

func (e EnvSubject) SubjectToken(context.Context) (string, error) {
	if strings.TrimSpace(e.Value) == "" {
		return "", helper.WithHint(fmt.Errorf("failed to read the subject token: environment variable %s is not set", e.Name),
			fmt.Sprintf("set %s in the job's environment (GitLab CI: id_tokens: %s: aud: <audience>)", e.Name, e.Name))
	}
	return nonEmpty(e, e.Value)
}

func (e EnvSubject) Identity(ctx context.Context) (string, error) {
	t, err := e.SubjectToken(ctx)
	if err != nil {
		return "", err
	}
	return tokenIdentity(t), nil
}

// GitHubActionsSubject asks the Actions runner for an OIDC token with
// Audience: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD with
// "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN", answered with
// {"value": JWT}. The runner sets both variables only for a job with
// permissions: id-token: write.
type GitHubActionsSubject struct {
	Audience     string
	RequestURL   string
	RequestToken string
	// Client sends the request; nil means one with the default HTTP policy.
	Client *http.Client
}

func (g GitHubActionsSubject) String() string {
	return "GitHub Actions (audience " + g.Audience + ")"
}

func (g GitHubActionsSubject) check() error {
	if g.RequestURL == "" || g.RequestToken == "" {
		return helper.WithHint(errors.New("failed to get the subject token from GitHub Actions: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set (not inside a GitHub Actions job, or the job may not request an ID token)"),
			"give the workflow or job 'permissions: id-token: write'")
	}
	return nil
}

func (g GitHubActionsSubject) Identity(context.Context) (string, error) {
	if err := g.check(); err != nil {
		return "", err
	}
	// The request token is the job's own: another job has another.
	return digest("github-actions", g.RequestURL, g.RequestToken, g.Audience), nil
}

func (g GitHubActionsSubject) SubjectToken(ctx context.Context) (string, error) {
	if err := g.check(); err != nil {
		return "", err
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("failed to get the subject token from GitHub Actions: "+format, args...)
	}
	sep := "?"
	if strings.Contains(g.RequestURL, "?") {
		sep = "&"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.RequestURL+sep+"audience="+url.QueryEscape(g.Audience), nil)
	if err != nil {
		return "", fail("invalid ACTIONS_ID_TOKEN_REQUEST_URL: %v", err)
	}
	req.Header.Set("Authorization", "bearer "+g.RequestToken)
	req.Header.Set("Accept", "application/json")
	c := g.Client
	if c == nil {
		c = httppolicy.Policy{}.Client()
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", &transientError{fail("%v", err)}
	}
	defer resp.Body.Close()
	b, err := httppolicy.ReadBody(resp)
	if err != nil {
		return "", &transientError{fail("%v", err)}
	}
	secrets := scrub.New(g.RequestToken)
	if resp.StatusCode != http.StatusOK {
		err := fail("the runner answered %s: %s", resp.Status, secrets.Line(string(b)))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return "", &transientError{err}
		}
		return "", helper.WithHint(err, "check the job's 'permissions: id-token: write' and the audience")
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Value == "" {
		return "", fail("the runner's answer holds no token")
	}
	return v.Value, nil
}

// StaticSubject is a token handed in from outside (kubelet's request).
type StaticSubject struct {
	Token string
	What  string
}

func (s StaticSubject) String() string { return s.What }

func (s StaticSubject) SubjectToken(context.Context) (string, error) { return nonEmpty(s, s.Token) }

func (s StaticSubject) Identity(ctx context.Context) (string, error) {
	t, err := s.SubjectToken(ctx)
	if err != nil {
		return "", err
	}
	return tokenIdentity(t), nil
}

// tokenIdentity is the identity of a subject token: for a JWT, its issuer,
// subject and audience (read, not verified: the provider verifies it), so
// that a rotated token of the same workload keeps it; for anything else,
// the token itself.
func tokenIdentity(t string) string {
	parts := strings.Split(t, ".")
	if len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			var c struct {
				Iss string          `json:"iss"`
				Sub string          `json:"sub"`
				Aud json.RawMessage `json:"aud"`
			}
			if json.Unmarshal(b, &c) == nil && c.Iss != "" && c.Sub != "" {
				return digest("jwt", c.Iss, c.Sub, string(c.Aud))
			}
		}
	}
	return digest("opaque", t)
}

func digest(fields ...string) string {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

type subjectKey struct{}

// WithSubjectToken returns a context that carries a subject token handed
// in from outside (the pod's service-account token in kubelet's request),
// for a ContextSubject source to read.
func WithSubjectToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, subjectKey{}, token)
}

// ContextSubject is the token WithSubjectToken put in the context: the
// pod's service-account token when the helper answers kubelet. Without
// one (a plain get) it is an error saying why, with Hint.
type ContextSubject struct {
	What, Why, Hint string
}

func (c ContextSubject) String() string { return c.What }

func (c ContextSubject) SubjectToken(ctx context.Context) (string, error) {
	t, _ := ctx.Value(subjectKey{}).(string)
	if strings.TrimSpace(t) == "" {
		return "", helper.WithHint(fmt.Errorf("failed to read the subject token from %s: %s", c.What, c.Why), c.Hint)
	}
	return strings.TrimSpace(t), nil
}

func (c ContextSubject) Identity(ctx context.Context) (string, error) {
	t, err := c.SubjectToken(ctx)
	if err != nil {
		return "", err
	}
	return tokenIdentity(t), nil
}
