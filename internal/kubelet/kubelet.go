// Package kubelet speaks kubelet's image credential provider protocol
// (credentialprovider.kubelet.k8s.io/v1, KEP-2133): kubelet runs the
// provider binary with one CredentialProviderRequest on stdin and reads one
// CredentialProviderResponse from stdout.
//
// The wire types are small structs of this package's own: linking k8s.io
// would cost every `get` of the same binary its start-up time. Tests prove
// them against kubelet's own types (tests/kubeletcontract).
//
// The usual entry point is [Serve].
//
// Reference: https://kubernetes.io/docs/reference/config-api/kubelet-credentialprovider.v1/
package kubelet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Group is the API group of the protocol.
const Group = "credentialprovider.kubelet.k8s.io"

// APIVersions are the versions this provider answers: v1, and v1beta1,
// whose messages are the same.
var APIVersions = []string{Group + "/v1", Group + "/v1beta1"}

// Cache key types of a response.
const (
	CacheKeyImage    = "Image"
	CacheKeyRegistry = "Registry"
)

// maxRequest bounds the request read from stdin: an image name, a
// service-account token of a few KiB and its annotations.
const maxRequest = 1 << 20

// Request is a CredentialProviderRequest.
type Request struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	// Image is the image being pulled, without tag or digest
	// (registry.example.com/team/app).
	Image string `json:"image"`
	// ServiceAccountToken is the pod's service-account token, when the
	// provider's tokenAttributes ask kubelet for one (Kubernetes 1.33+).
	ServiceAccountToken string `json:"serviceAccountToken,omitempty"`
	// ServiceAccountAnnotations are the annotations kubelet was told to
	// pass on.
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
}

// AuthConfig is one credential of a response.
type AuthConfig struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Response is a CredentialProviderResponse.
type Response struct {
	Kind         string `json:"kind"`
	APIVersion   string `json:"apiVersion"`
	CacheKeyType string `json:"cacheKeyType"`
	// CacheDuration is a Go duration ("5m0s"); empty means kubelet's
	// defaultCacheDuration, "0s" no caching.
	CacheDuration string                `json:"cacheDuration,omitempty"`
	Auth          map[string]AuthConfig `json:"auth"`
}

// ParseRequest reads and checks a request: JSON, the request kind, a
// version this provider answers, and an image.
func ParseRequest(r io.Reader) (*Request, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxRequest+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read the request: %v", err)
	}
	if len(b) > maxRequest {
		return nil, fmt.Errorf("invalid request: larger than %d bytes", maxRequest)
	}
	var req Request
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("invalid request: not a CredentialProviderRequest in JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("invalid request: unexpected data after the JSON object")
	}
	switch {
	case req.Kind != "CredentialProviderRequest":
		return nil, fmt.Errorf("invalid request: kind %q, want CredentialProviderRequest", req.Kind)
	case !supported(req.APIVersion):
		return nil, fmt.Errorf("invalid request: apiVersion %q is not supported (want %s)", req.APIVersion, strings.Join(APIVersions, " or "))
	case strings.TrimSpace(req.Image) == "":
		return nil, errors.New("invalid request: no image")
	}
	return &req, nil
}

func supported(v string) bool {
	for _, s := range APIVersions {
		if v == s {
			return true
		}
	}
	return false
}

// Candidates are the store keys to try for an image, longest first: the
// image's repository, each shorter path prefix, then the registry host
// (registry.example.com/team-a/app, registry.example.com/team-a,
// registry.example.com). A tag or digest is dropped; an image without a
// registry is Docker Hub's (docker.io, library/ for one path part), as
// kubelet and docker read it.
func Candidates(image string) []string {
	ref := image
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i] // a tag, not a port
	}
	host, path, ok := strings.Cut(ref, "/")
	if !ok || (!strings.ContainsAny(host, ".:") && host != "localhost") {
		// No registry: Docker Hub.
		host, path = "docker.io", ref
		if !strings.Contains(path, "/") {
			path = "library/" + path
		}
	}
	out := []string{}
	parts := strings.Split(path, "/")
	for n := len(parts); n > 0; n-- {
		out = append(out, host+"/"+strings.Join(parts[:n], "/"))
	}
	return append(out, host)
}

// Credential is what the caller found for an image.
type Credential struct {
	// Key is the store key that matched (a host, or host/path).
	Key string
	// Username and Password are the credential.
	Username, Password string
	// FreshUntil, when set, is how long the credential may be cached:
	// the answer's cacheDuration never reaches past it.
	FreshUntil time.Time
	// PerImage asks kubelet to cache a host's credential per image, not per
	// registry: other repositories of the registry have credentials of
	// their own, which a registry-wide cache entry would hide.
	PerImage bool
}

// Resolver finds the credential for a request; nil and no error means none.
type Resolver func(ctx context.Context, req *Request) (*Credential, error)

// Serve answers one request: it reads it from in, asks resolve, and writes
// the response to out. On any error nothing is written to out (kubelet
// then reports the provider's stderr), and the error says what failed.
// now is the clock for cacheDuration.
func Serve(ctx context.Context, in io.Reader, out io.Writer, resolve Resolver, now func() time.Time) error {
	req, err := ParseRequest(in)
	if err != nil {
		return err
	}
	cred, err := resolve(ctx, req)
	if err != nil {
		return err
	}
	resp := Response{Kind: "CredentialProviderResponse", APIVersion: req.APIVersion, CacheKeyType: CacheKeyRegistry, Auth: map[string]AuthConfig{}}
	if cred == nil {
		// No credential: kubelet pulls anonymously. Not cached, so that a
		// credential stored later is used at once.
		resp.CacheDuration = "0s"
	} else {
		resp.Auth[cred.Key] = AuthConfig{Username: cred.Username, Password: cred.Password}
		if strings.Contains(cred.Key, "/") || cred.PerImage {
			resp.CacheKeyType = CacheKeyImage
		}
		if !cred.FreshUntil.IsZero() {
			d := cred.FreshUntil.Sub(now()).Truncate(time.Second)
			if d < 0 {
				d = 0
			}
			resp.CacheDuration = d.String()
		}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}
