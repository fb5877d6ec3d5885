package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// BenchmarkRun measures what one client invocation does after the program
// has started: load the configuration, open the configured store and answer
// one protocol action. Process start-up (exec, package init) is what
// `make bench` measures; this is the rest.
func BenchmarkRun(b *testing.B) {
	dir := b.TempDir()
	env := map[string]string{
		"HOME":                                 dir,
		"XDG_CONFIG_HOME":                      dir + "/config",
		"DOCKER_CREDENTIAL_NOTATION_STORE_DIR": dir + "/store",
		"DOCKER_CREDENTIAL_NOTATION_BACKEND":   "file",
	}
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	invoke := func(b *testing.B, action, input string) {
		var out bytes.Buffer
		if code := run(ctx, []string{"docker-credential-notation", action}, strings.NewReader(input), &out, &out, getenv); code != 0 {
			b.Fatalf("%s: exit %d: %s", action, code, out.String())
		}
	}
	invoke(b, "store", `{"ServerURL":"registry.example.com","Username":"u","Secret":"s3cret"}`)
	for _, tc := range []struct{ action, input string }{
		{"get", "registry.example.com"},
		{"list", ""},
		{"version", ""},
	} {
		b.Run(tc.action, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				invoke(b, tc.action, tc.input)
			}
		})
	}
}
