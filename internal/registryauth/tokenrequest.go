package registryauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/httppolicy"
	"github.com/notaryproject/docker-credential-notation/internal/scrub"
)

// fetchToken asks the realm for a token for service and scopes with cred,
// and says which method it used.
//
// An identity (refresh) token goes in an OAuth2 POST with
// grant_type=refresh_token; nothing else can carry it. A user name and
// password go in an OAuth2 POST with grant_type=password, and when the
// token server does not take that (404 or 405, or a 400 or 401 that is not
// OAuth2's invalid_grant: distribution's token server answers 400 "password
// grant type not supported"), in the Docker token GET with Basic
// credentials, which every registry token server supports.
//
// References:
// https://distribution.github.io/distribution/spec/auth/oauth/,
// https://distribution.github.io/distribution/spec/auth/token/,
// RFC 6749, sections 4.3, 5.2 and 6.
//
// getOnly skips the password grant, for a token server known to refuse
// it.
func (c *Client) fetchToken(ctx context.Context, realm *url.URL, service string, scopes []string, cred helper.Credentials, getOnly bool) (*Token, string, error) {
	if cred.Username == helper.IdentityTokenUsername {
		if cred.Secret == "" {
			return nil, MethodOAuthRefresh, rejected(cred, errors.New("it is empty"))
		}
		form := c.oauthForm(service, scopes)
		form.Set("grant_type", "refresh_token")
		form.Set("refresh_token", cred.Secret)
		tok, err := c.postToken(ctx, realm, form, secretsOf(cred))
		var se *StatusError
		if errors.As(err, &se) {
			switch {
			case se.StatusCode == http.StatusNotFound || se.StatusCode == http.StatusMethodNotAllowed:
				return nil, MethodOAuthRefresh, fmt.Errorf("%w: the token server does not accept the OAuth2 POST that an identity token needs: %w", ErrUnsupported, se)
			case refuses(se):
				return nil, MethodOAuthRefresh, rejected(cred, se)
			}
		}
		return tok, MethodOAuthRefresh, err
	}

	if strings.Contains(cred.Username, ":") {
		return nil, MethodTokenGET, fmt.Errorf("%w: the user name contains ':', which Basic authentication cannot carry", ErrUnsupported)
	}
	if getOnly {
		return c.tokenGET(ctx, realm, service, scopes, cred)
	}
	form := c.oauthForm(service, scopes)
	form.Set("grant_type", "password")
	form.Set("username", cred.Username)
	form.Set("password", cred.Secret)
	tok, err := c.postToken(ctx, realm, form, secretsOf(cred))
	var se *StatusError
	if !errors.As(err, &se) {
		return tok, MethodOAuthPassword, err
	}
	switch se.StatusCode {
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusBadRequest, http.StatusUnauthorized:
		if se.Code != "invalid_grant" {
			c.logf("the token server refused the password grant (%s); falling back to the token GET", se.Status)
			break
		}
		return nil, MethodOAuthPassword, rejected(cred, se)
	default:
		if refuses(se) {
			return nil, MethodOAuthPassword, rejected(cred, se)
		}
		return nil, MethodOAuthPassword, err
	}

	return c.tokenGET(ctx, realm, service, scopes, cred)
}

// tokenGET sends the Docker token GET, and words a refusal.
func (c *Client) tokenGET(ctx context.Context, realm *url.URL, service string, scopes []string, cred helper.Credentials) (*Token, string, error) {
	tok, err := c.getToken(ctx, realm, service, scopes, cred)
	var se *StatusError
	if errors.As(err, &se) && refuses(se) {
		return nil, MethodTokenGET, rejected(cred, se)
	}
	return tok, MethodTokenGET, err
}

// refuses reports whether a token server's answer refuses the credential
// itself rather than the request.
func refuses(se *StatusError) bool {
	return se.StatusCode == http.StatusUnauthorized || se.StatusCode == http.StatusForbidden || se.Code == "invalid_grant"
}

// oauthForm holds the fields every OAuth2 token POST sends.
func (c *Client) oauthForm(service string, scopes []string) url.Values {
	form := url.Values{}
	if service != "" {
		form.Set("service", service)
	}
	form.Set("client_id", c.opts.ClientID)
	if len(scopes) > 0 {
		// OAuth2 separates scopes with spaces (RFC 6749, section 3.3).
		form.Set("scope", strings.Join(scopes, " "))
	}
	if c.opts.Offline {
		form.Set("access_type", "offline")
	}
	return form
}

// postToken sends the OAuth2 token POST.
func (c *Client) postToken(ctx context.Context, realm *url.URL, form url.Values, secrets *scrub.Secrets) (*Token, error) {
	return c.tokenRequest(ctx, http.MethodPost, realm, strings.NewReader(form.Encode()), func(req *http.Request) {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}, secrets)
}

// getToken sends the Docker token GET: the realm with service, one scope
// parameter per scope, and (for Offline) offline_token and client_id, with
// the user name and password as Basic credentials.
func (c *Client) getToken(ctx context.Context, realm *url.URL, service string, scopes []string, cred helper.Credentials) (*Token, error) {
	u := *realm
	q := u.Query()
	if service != "" {
		q.Set("service", service)
	}
	for _, s := range scopes {
		q.Add("scope", s)
	}
	if c.opts.Offline {
		q.Set("offline_token", "true")
		q.Set("client_id", c.opts.ClientID)
	}
	u.RawQuery = q.Encode()
	return c.tokenRequest(ctx, http.MethodGet, &u, nil, func(req *http.Request) {
		req.SetBasicAuth(cred.Username, cred.Secret)
	}, secretsOf(cred))
}

// tokenRequest sends one token request and decodes a 200 answer, reading
// at most maxTokenResponse bytes of it. Any other status is a
// *StatusError naming the realm (without the query the flow added), with
// secrets scrubbed from the server's message.
func (c *Client) tokenRequest(ctx context.Context, method string, u *url.URL, body io.Reader, set func(*http.Request), secrets *scrub.Secrets) (*Token, error) {
	resp, err := c.send(ctx, method, u, body, set)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	shown := *u
	shown.RawQuery = ""
	if resp.StatusCode != http.StatusOK {
		se := c.statusError("token server", &shown, resp.StatusCode, resp.Status, resp.Body, secrets)
		return nil, se
	}
	b, err := httppolicy.ReadBody(resp)
	if errors.Is(err, httppolicy.ErrBodyTooLarge) {
		return nil, fmt.Errorf("failed to read the token response from %s: larger than %d KiB", redactURL(&shown), maxTokenResponse>>10)
	}
	if err != nil {
		return nil, c.requestError(method, &shown, err)
	}
	tok, err := DecodeTokenResponse(b, c.opts.Now())
	if err != nil {
		return nil, fmt.Errorf("failed to read the token response from %s: %w", redactURL(&shown), err)
	}
	c.logf("token server granted an %v", tok)
	return tok, nil
}
