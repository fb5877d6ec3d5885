package tokenexchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/notaryproject/docker-credential-notation/internal/httppolicy"
	"github.com/notaryproject/docker-credential-notation/internal/scrub"
)

// discoveryPath is appended to an issuer to find its discovery document
// (OpenID Connect Discovery 1.0, section 4).
const discoveryPath = "/.well-known/openid-configuration"

// endpoints are the provider URLs a registry's exchange uses.
type endpoints struct {
	token, deviceAuth, revocation string
}

// discovery is the part of a discovery document the helper reads.
type discovery struct {
	Issuer                      string `json:"issuer"`
	TokenEndpoint               string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	RevocationEndpoint          string `json:"revocation_endpoint"`
}

// parseDiscovery decodes a discovery document and checks it: it must name
// the issuer it was fetched for (section 4.3; a trailing slash aside), and
// every endpoint it gives must be an absolute URL allowed by the transport
// policy. Endpoints other than the token endpoint may be absent.
func parseDiscovery(b []byte, issuer string, policy *httppolicy.Policy) (*discovery, error) {
	var d discovery
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("invalid discovery document: %v", err)
	}
	if strings.TrimSuffix(d.Issuer, "/") != strings.TrimSuffix(issuer, "/") {
		return nil, fmt.Errorf("invalid discovery document: it is for issuer %q, not %q", d.Issuer, issuer)
	}
	if d.TokenEndpoint == "" {
		return nil, errors.New("invalid discovery document: no token_endpoint")
	}
	for _, e := range []struct{ name, v string }{
		{"token_endpoint", d.TokenEndpoint},
		{"device_authorization_endpoint", d.DeviceAuthorizationEndpoint},
		{"revocation_endpoint", d.RevocationEndpoint},
	} {
		if e.v == "" {
			continue
		}
		if _, err := policy.ParseEndpoint(e.name, e.v); err != nil {
			return nil, fmt.Errorf("invalid discovery document: %v", err)
		}
	}
	return &d, nil
}

// endpoints returns the registry's endpoints: those set in its settings,
// and for the rest, when it has an issuer, those of the issuer's discovery
// document (one request).
func (r *registry) endpoints(ctx context.Context) (endpoints, error) {
	ep := endpoints{token: r.TokenURL, deviceAuth: r.DeviceAuthURL}
	if r.Issuer == "" || (ep.token != "" && ep.deviceAuth != "") {
		return ep, nil
	}
	d, err := r.discover(ctx)
	if err != nil {
		return ep, err
	}
	if ep.token == "" {
		ep.token = d.TokenEndpoint
	}
	if ep.deviceAuth == "" {
		ep.deviceAuth = d.DeviceAuthorizationEndpoint
	}
	ep.revocation = d.RevocationEndpoint
	return ep, nil
}

// discover fetches and checks the issuer's discovery document.
func (r *registry) discover(ctx context.Context) (*discovery, error) {
	u := strings.TrimSuffix(r.Issuer, "/") + discoveryPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch the discovery document of %s: %v", r.Issuer, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, &transientError{fmt.Errorf("failed to fetch the discovery document of %s: %v", r.Issuer, r.netError(err))}
	}
	defer resp.Body.Close()
	b, err := httppolicy.ReadBody(resp)
	if err != nil {
		return nil, &transientError{fmt.Errorf("failed to fetch the discovery document of %s: %v", r.Issuer, err)}
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("failed to fetch the discovery document of %s: %s", r.Issuer, resp.Status)
		if resp.StatusCode >= 500 {
			return nil, &transientError{err}
		}
		return nil, err
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "" && ct != "application/json" {
		return nil, fmt.Errorf("failed to fetch the discovery document of %s: %s answered %s, not JSON", r.Issuer, u, scrub.Line(ct))
	}
	d, err := parseDiscovery(b, r.Issuer, &r.policy)
	if err != nil {
		return nil, fmt.Errorf("failed to use the discovery document of %s: %v", r.Issuer, err)
	}
	return d, nil
}

// transientError marks a failure that may go away by itself (the network,
// a timeout, a 5xx answer): a still-valid cached access token is served
// rather than failing.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }
