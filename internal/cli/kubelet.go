package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/config"
	"github.com/notaryproject/docker-credential-notation/internal/kubelet"
)

func kubeletProviderCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:  kubeletProviderName,
		Usage: "answer one kubelet image credential provider request (credentialprovider.kubelet.k8s.io/v1) on stdin",
		Description: "Run by kubelet as configured in its CredentialProviderConfig (args: [\"kubelet-provider\"]): " +
			"the longest stored prefix of the image (host/ns/repo, host/ns, host) answers, exchanged registries give their " +
			"short-lived token with a cacheDuration that ends before it does, and with a service-account token in the request " +
			"a registry whose subjectToken is kubernetesServiceAccount exchanges it. No credential: an empty auth (kubelet pulls anonymously). " +
			"Never prompts; errors go to stderr with exit 1.",
		Category: "kubernetes",
		Action: func(c *ucli.Context) error {
			if c.NArg() > 0 {
				// On stderr: kubelet reads only a response on stdout.
				return fmt.Errorf("unexpected argument %q: %s kubelet-provider reads kubelet's request on stdin", c.Args().First(), Name)
			}
			return runKubeletProvider(c.Context, env)
		},
	}
}

const kubeletProviderName = "kubelet-provider"

// runKubeletProvider answers kubelet's request on stdin.
func runKubeletProvider(ctx context.Context, env *Env) error {
	// kubelet runs the provider with no terminal: never ask. And no debug
	// wrapper: kubelet reads only the response.
	quiet := *env
	quiet.Prompt = nil
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		return helper.WithHint(err, "run '"+Name+" config' with the provider's environment to see the effective configuration")
	}
	store, err := env.OpenStore(ctx, cfg, &quiet)
	if err != nil {
		return err
	}
	return kubelet.Serve(ctx, env.Stdin, env.Stdout, kubeletResolver(&quiet, store), time.Now)
}

// kubeletResolver looks the image up in the store, longest prefix first.
func kubeletResolver(env *Env, store *Opened) kubelet.Resolver {
	return func(ctx context.Context, req *kubelet.Request) (*kubelet.Credential, error) {
		if req.ServiceAccountToken != "" && env.WithSubjectToken != nil {
			ctx = env.WithSubjectToken(ctx, req.ServiceAccountToken)
		}
		for _, cand := range kubelet.Candidates(req.Image) {
			k, err := helper.ParseServerURL(cand)
			if err != nil {
				return nil, fmt.Errorf("invalid image %q: %v", req.Image, err)
			}
			cred, until, err := store.getExpiring(ctx, k)
			switch {
			case errors.Is(err, helper.ErrNotFound):
				continue
			case err != nil:
				return nil, fmt.Errorf("failed to get the credential of %s for %s: %w", cand, req.Image, err)
			case cred.Username == helper.IdentityTokenUsername:
				return nil, helper.WithHint(fmt.Errorf("the credential stored for %s is an identity token, which kubelet cannot use (it sends a username and password)", cand),
					"configure token exchange for the registry (\"registries\" in the config file), or store a username and password")
			}
			c := &kubelet.Credential{Key: cand, Username: cred.Username, Password: cred.Secret, FreshUntil: until}
			if !strings.Contains(cand, "/") {
				// A host's credential: kubelet would cache it for every image
				// of the registry, hiding repository-scoped ones stored for
				// others. Then it must cache per image.
				scoped, err := store.hasPrefix(ctx, k.String()+"/")
				if err != nil {
					return nil, fmt.Errorf("failed to list the credentials for %s: %w", req.Image, err)
				}
				c.PerImage = scoped
			}
			return c, nil
		}
		return nil, nil
	}
}
