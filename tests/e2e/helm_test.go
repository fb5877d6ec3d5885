// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
)

// helmConfigs: helm 4 keeps its logins in its own registry config
// ($HELM_REGISTRY_CONFIG, default $XDG_CONFIG_HOME/helm/registry/config.json,
// docker's format, read by oras-go), which the helper's `configure --helm`
// writes, and falls back to docker's config for reading.
var helmConfigs = []string{"helm credsStore", "helm credHelpers", "docker credsStore"}

// helmRegistryConfig is helm's registry config in a row's HOME.
func (r *row) helmRegistryConfig() string {
	return filepath.Join(r.home, ".config", "helm", "registry", "config.json")
}

// runHelm: registry login, package a chart, push it as an OCI artifact,
// pull it back (the same bytes), registry logout. With the helper only in
// docker's config, helm reads it from there, but its login would write
// helm's own file: the credential goes into the helper directly.
func runHelm(r *row) {
	host := r.ep.Host
	repo := r.repo("")
	namespace, chart, _ := strings.Cut(repo, "/")
	fallback := r.config == "docker credsStore"
	if !fallback {
		// As a user would: the helper's configure finds helm's file.
		args := []string{"configure", "--helm"}
		if r.config == "helm credHelpers" {
			args = append(args, "--registry", host)
		}
		r.begin(strings.Join(args, " "))
		if out, code := r.helper("", args...); code != 0 {
			r.failf("%s: exit %d:\n%s", strings.Join(args, " "), code, indent(out))
		}
		if b, err := os.ReadFile(r.helmRegistryConfig()); err != nil || !strings.Contains(string(b), `"`+helperSuffix+`"`) {
			r.failf("configure --helm left %s without this helper: %q, %v", r.helmRegistryConfig(), b, err)
		}
	}
	if fallback {
		r.res.Note = "helm reads docker's config after its own registry config; helm registry login writes its own ($HELM_REGISTRY_CONFIG), so this row stores the credential through the helper"
		r.login("helm")
	} else {
		r.login("helm", "registry", "login", host, "--username", r.user, "--password-stdin")
	}

	r.run("create", "", "helm", "create", chart)
	r.run("package", "", "helm", "package", chart)
	tgz := chart + "-0.1.0.tgz"
	r.run("push", "", "helm", "push", tgz, "oci://"+host+"/"+namespace)
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()

	pulled := filepath.Join(r.work, "pulled")
	if err := os.Mkdir(pulled, 0o700); err != nil {
		r.t.Fatal(err)
	}
	r.run("pull", "", "helm", "pull", "oci://"+host+"/"+repo, "--version", "0.1.0", "--destination", pulled)
	r.expectCalls(want{"get", host, "found"})
	r.expectHeld()
	want1, err1 := os.ReadFile(filepath.Join(r.work, tgz))
	got, err2 := os.ReadFile(filepath.Join(pulled, tgz))
	if err1 != nil || err2 != nil || !bytes.Equal(got, want1) {
		r.failf("helm pull did not give back the pushed chart: %v, %v", err1, err2)
	}

	if fallback {
		r.begin("erase")
		r.erase(host)
	} else {
		r.run("registry logout", "", "helm", "registry", "logout", host)
		r.expectCalls(want{"erase", host, "ok"})
	}
	r.expectList(map[string]string{})
}
