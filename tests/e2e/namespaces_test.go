// The end-to-end suite runs the real clients on Linux (Debian packages, process
// groups, Pdeathsig).

//go:build linux

package e2e

import (
	"context"
	"strings"
)

// runCraneNamespaces: one registry, a credential per namespace. The token
// registry grants alice only alice/… and bob only bob/…; the helper holds
// alice for the registry and each user under the repository-scoped key
// crane asks for first (host/namespace/repo). crane must pull bob's
// repository with bob's credential, alice's with alice's, and fall back to
// the registry's entry for a repository that has no scoped one; without
// bob's scoped entry bob's repository must be refused, which shows the
// namespaces really are apart.
//
// With credHelpers, keyed by host in docker's config, crane never reaches
// the helper with a repository-scoped key: the row checks that and says so.
func runCraneNamespaces(r *row) {
	host := r.ep.Host
	name := strings.TrimPrefix(r.repo(""), testUser+"/")
	aliceRepo, bobRepo, otherRepo := testUser+"/"+name, secondUser+"/"+name, testUser+"/"+name+"-unscoped"
	aliceKey, bobKey := host+"/"+aliceRepo, host+"/"+bobRepo

	r.begin("seed three images, two namespaces")
	ctx := context.Background()
	for _, s := range []struct{ repo, user, password string }{
		{aliceRepo, testUser, fx.password},
		{otherRepo, testUser, fx.password},
		{bobRepo, secondUser, fx.secondPassword},
	} {
		if _, err := fx.seedAs(ctx, host, s.repo, "v1", s.user, s.password); err != nil {
			r.failf("failed to push %s as %s: %v", s.repo, s.user, err)
		}
	}

	r.login("crane", "auth", "login", host, "--username", r.user, "--password-stdin")
	r.begin("store a credential per namespace through the helper")
	r.store(aliceKey, testUser, fx.password)
	r.store(bobKey, secondUser, fx.secondPassword)
	r.held = map[string]string{host: testUser, aliceKey: testUser, bobKey: secondUser}
	r.expectHeld()
	r.expectGet(bobKey, secondUser, fx.secondPassword)

	if r.config != "docker credsStore" {
		craneNamespacesCredHelpers(r, bobRepo)
		return
	}

	r.run("pull bob's namespace", "", "crane", "pull", host+"/"+bobRepo+":v1", "bob.tar")
	r.expectCalls(want{"get", bobKey, "found"})
	r.expectHeld()

	r.run("pull alice's namespace", "", "crane", "pull", host+"/"+aliceRepo+":v1", "alice.tar")
	r.expectCalls(want{"get", aliceKey, "found"})
	r.expectHeld()

	r.run("pull a repository with no scoped entry", "", "crane", "pull", host+"/"+otherRepo+":v1", "other.tar")
	r.expectCalls(want{"get", host + "/" + otherRepo, "not found"}, want{"get", host, "found"})
	r.expectHeld()

	// Without bob's entry crane falls back to alice's, which the token
	// server does not grant bob's namespace.
	r.begin("erase bob's entry")
	r.erase(bobKey)
	delete(r.held, bobKey)
	r.expectHeld()
	r.begin("pull bob's namespace with alice's credential")
	res := r.exec("", "crane", "pull", host+"/"+bobRepo+":v1", "bob2.tar")
	if res.err == nil {
		r.failf("crane pulled %s with %s's credential: the registry does not keep namespaces apart, so this row shows nothing", bobRepo, testUser)
	}
	r.expectCalls(want{"get", bobKey, "not found"}, want{"get", host, "found"})

	r.run("logout", "", "crane", "auth", "logout", host)
	r.expectCalls(want{"erase", host, "ok"})
	r.erase(aliceKey)
	r.expectList(map[string]string{})
}

// craneNamespacesCredHelpers: docker's credHelpers maps hosts to helpers,
// so crane's lookup of host/namespace/repo finds no helper and only the
// host's lookup reaches this one. If a crane ever asks the scoped key and
// pulls bob's repository, the row passes and the table says so.
func craneNamespacesCredHelpers(r *row, bobRepo string) {
	host := r.ep.Host
	bobKey := host + "/" + bobRepo
	r.begin("pull bob's namespace")
	res := r.exec("", "crane", "pull", host+"/"+bobRepo+":v1", "bob.tar")
	var asked []string
	for _, c := range parseCalls(r.helperCalls()) {
		if c.verb == "get" {
			asked = append(asked, c.url)
		}
	}
	switch {
	case res.err == nil:
		r.expectCalls(want{"get", bobKey, "found"})
	case len(asked) > 0 && !contains(asked, bobKey):
		r.expectCalls(want{"get", host, "found"})
		r.res.Status = NotApplicable
		r.res.Note = "credHelpers is keyed by host: crane " + r.res.Version + " finds no helper for host/namespace/repo and asks the helper for the host only; configure the helper as credsStore for a credential per namespace"
		r.t.Logf("%s (it asked for %s)", r.res.Note, strings.Join(asked, ", "))
	default:
		r.failf("crane pull %s failed after asking the helper for %v: %v\nclient stderr:\n%s", bobRepo, asked, res.err, indent(res.stderr))
	}
	r.run("logout", "", "crane", "auth", "logout", host)
	r.expectCalls(want{"erase", host, "ok"})
	r.erase(host + "/" + testUser + "/" + strings.TrimPrefix(bobRepo, secondUser+"/"))
	r.erase(bobKey)
	r.expectList(map[string]string{})
}
