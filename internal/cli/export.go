package cli

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/notaryproject/docker-credential-notation/helper"
	"github.com/notaryproject/docker-credential-notation/internal/atomicfile"
)

// dockerConfigAuth is one registry of a dockerconfigjson pull secret.
type dockerConfigAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

func exportCommand(env *Env) *ucli.Command {
	return &ucli.Command{
		Name:      "export",
		Usage:     "write the credentials of registries in the clear, as a Kubernetes pull secret (dockerconfigjson)",
		UsageText: Name + " export --format dockerconfigjson --yes [-o FILE] REGISTRY...",
		Description: "For kubectl create secret generic NAME --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=FILE. " +
			"The output holds the secrets in plain text, so nothing is written without --yes; FILE is created with mode 0600. " +
			"An exchanged registry gives its current short-lived token, and a warning says when it expires.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "format", Value: "dockerconfigjson", Usage: "the output format (only dockerconfigjson)"},
			&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` (mode 0600) instead of stdout"},
			&ucli.BoolFlag{Name: "yes", Usage: "write the secrets in the clear"},
		},
		Action: func(c *ucli.Context) error {
			if f := c.String("format"); f != "dockerconfigjson" {
				return fmt.Errorf("unknown --format %q: only dockerconfigjson is supported", f)
			}
			if c.NArg() == 0 {
				return errors.New("name at least one registry to export")
			}
			if !c.Bool("yes") {
				return helper.WithHint(errors.New("refusing to write credentials in the clear without --yes"),
					"the pull secret holds the passwords as they are: add --yes, and -o FILE to write it to a private file")
			}
			store, _, err := open(c.Context, env)
			if err != nil {
				return err
			}
			auths := map[string]dockerConfigAuth{}
			for _, reg := range c.Args().Slice() {
				k, err := helper.ParseServerURL(reg)
				if err != nil {
					return err
				}
				cred, until, err := store.getExpiring(c.Context, k)
				if errors.Is(err, helper.ErrNotFound) {
					return helper.WithHint(fmt.Errorf("no credential is stored for %s; nothing was written", k), "log in first ('"+Name+" login "+k.String()+"' or docker login)")
				}
				if err != nil {
					return fmt.Errorf("failed to get the credential for %s: %w; nothing was written", k, err)
				}
				if cred.Username == helper.IdentityTokenUsername {
					return fmt.Errorf("the credential for %s is an identity token, which a pull secret cannot carry; nothing was written", k)
				}
				if !until.IsZero() {
					fmt.Fprintf(env.Stderr, "%s: warning: the token exported for %s is short-lived: renew the secret before %s\n", Name, k, until.UTC().Format(time.RFC3339))
				}
				key := k.String()
				if key == "docker.io" {
					// As docker writes Docker Hub's entry, which kubelet
					// and every client read.
					key = "https://index.docker.io/v1/"
				}
				auths[key] = dockerConfigAuth{Username: cred.Username, Password: cred.Secret,
					Auth: base64.StdEncoding.EncodeToString([]byte(cred.Username + ":" + cred.Secret))}
			}
			b, err := json.MarshalIndent(map[string]any{"auths": auths}, "", "  ")
			if err != nil {
				return err
			}
			b = append(b, '\n')
			if path := c.String("output"); path != "" {
				if err := atomicfile.WriteFile(path, b, atomicfile.Options{Perm: 0o600}); err != nil {
					return fmt.Errorf("failed to write %s: %v", path, err)
				}
				return nil
			}
			_, err = env.Stdout.Write(b)
			return err
		},
	}
}
