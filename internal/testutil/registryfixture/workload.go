package registryfixture

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// VerifyFunc checks an access token that an OAuth2 provider issued and
// returns its subject.
type VerifyFunc func(ctx context.Context, accessToken string) (subject string, err error)

// WorkloadRegistry is a registry (distribution v3, token auth) whose token
// service accepts, as the password of "oauth2accesstoken", an access token
// from an OAuth2 provider, checked by its VerifyFunc (against the
// provider's JWKS, as Artifact Registry and JFrog accept theirs). The
// fixture's own user and password are accepted too, for seeding images.
// Its front serves the realm on the registry's own host and port.
type WorkloadRegistry struct {
	// Host is 127.0.0.1:<port>.
	Host string
	// Service and Issuer name the registry's tokens.
	Service, Issuer string

	grants atomic.Int64
}

// ProviderGrants counts the registry tokens granted for a provider's access
// token.
func (w *WorkloadRegistry) ProviderGrants() int64 { return w.grants.Load() }

// StartWorkloadRegistry starts a workload registry with the fixture's CA.
func (s *Servers) StartWorkloadRegistry(ctx context.Context, registryBin, name string, verify VerifyFunc) (*WorkloadRegistry, error) {
	w := &WorkloadRegistry{Service: name + "-registry", Issuer: name + "-token-service"}
	key, kid, err := newTokenKey(filepath.Join(s.Dir, name+"-key.pem"), filepath.Join(s.Dir, name+"-jwks.json"))
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	w.Host = ln.Addr().String()
	regAddr, err := FreeAddr()
	if err != nil {
		ln.Close()
		return nil, err
	}
	cfg := RegistryConfig(filepath.Join(s.Dir, name+"-storage"), regAddr, "",
		fmt.Sprintf("  token:\n    realm: https://%s/token/\n    service: %s\n    issuer: %s\n    jwks: %s\n",
			w.Host, w.Service, w.Issuer, filepath.Join(s.Dir, name+"-jwks.json")))
	if err := s.startRegistry(registryBin, name, cfg); err != nil {
		ln.Close()
		return nil, err
	}
	regURL, _ := url.Parse("http://" + regAddr)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(regURL)
		r.Out.Host = r.In.Host
		r.SetXForwarded()
	}}
	mux := http.NewServeMux()
	mux.Handle("/token/", http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.serveToken(rw, r, signer, s, verify)
	}))
	mux.Handle("/", proxy)
	lf, err := os.Create(filepath.Join(s.Dir, name+"-front.log"))
	if err != nil {
		ln.Close()
		return nil, err
	}
	front := s.newFront(mux, lf)
	if front == nil {
		ln.Close()
		return nil, fmt.Errorf("failed to load the servers' certificate")
	}
	go func() { _ = front.ServeTLS(ln, "", "") }()
	s.extra = append(s.extra, front)
	if err := s.WaitChallenge(ctx, w.Host); err != nil {
		return nil, err
	}
	return w, nil
}

// serveToken is the Docker token GET (Basic credentials) and the OAuth2
// password POST: a provider's access token as the password of
// "oauth2accesstoken", or the fixture's user. It grants every action asked
// for on the repositories asked for.
func (w *WorkloadRegistry) serveToken(rw http.ResponseWriter, r *http.Request, signer jose.Signer, s *Servers, verify VerifyFunc) {
	user, password, ok := r.BasicAuth()
	scopes := r.URL.Query()["scope"]
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			http.Error(rw, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		if r.PostForm.Get("grant_type") != "password" {
			http.Error(rw, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		user, password, ok = r.PostForm.Get("username"), r.PostForm.Get("password"), true
		scopes = strings.Fields(r.PostForm.Get("scope"))
	}
	subject := ""
	switch {
	case !ok:
		rw.Header().Set("WWW-Authenticate", `Basic realm="workload-token"`)
		http.Error(rw, `{"errors":[{"code":"UNAUTHORIZED","message":"credentials required"}]}`, http.StatusUnauthorized)
		return
	case user == s.User && password == s.Password:
		subject = user
	case user == "oauth2accesstoken":
		sub, err := verify(r.Context(), password)
		if err != nil {
			http.Error(rw, `{"errors":[{"code":"UNAUTHORIZED","message":"access token refused"}]}`, http.StatusUnauthorized)
			return
		}
		subject = sub
		w.grants.Add(1)
	default:
		http.Error(rw, `{"errors":[{"code":"UNAUTHORIZED","message":"unknown user"}]}`, http.StatusUnauthorized)
		return
	}
	type access struct {
		Type    string   `json:"type"`
		Name    string   `json:"name"`
		Actions []string `json:"actions"`
	}
	grants := []access{}
	for _, sc := range scopes {
		for _, one := range strings.Fields(sc) {
			parts := strings.Split(one, ":")
			if len(parts) != 3 {
				continue
			}
			grants = append(grants, access{Type: parts[0], Name: parts[1], Actions: strings.Split(parts[2], ",")})
		}
	}
	now := time.Now()
	jti := make([]byte, 8)
	_, _ = rand.Read(jti)
	claims, _ := json.Marshal(map[string]any{
		"iss": w.Issuer, "sub": subject, "aud": w.Service,
		"exp": now.Add(5 * time.Minute).Unix(), "nbf": now.Add(-time.Minute).Unix(), "iat": now.Unix(),
		"jti": hex.EncodeToString(jti), "access": grants,
	})
	sig, err := signer.Sign(claims)
	if err == nil {
		var tok string
		if tok, err = sig.CompactSerialize(); err == nil {
			rw.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(rw).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300, "issued_at": now.UTC().Format(time.RFC3339)})
			return
		}
	}
	http.Error(rw, err.Error(), http.StatusInternalServerError)
}
