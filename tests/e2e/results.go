// Package e2e runs docker-credential-notation under the real registry
// clients (the docker CLI, notation, oras, crane, regctl, skopeo, podman,
// buildah, helm, cosign) against real registries on 127.0.0.1: a
// distribution registry with htpasswd Basic auth over TLS, and one with
// token auth against distribution's token server.
//
// The tests live in this package's _test files: TestMain builds the helper,
// starts the servers once, and TestClients runs the matrix client x config
// mode x auth scheme x helper backend (the file store, and the keychain
// under a real gnome-keyring), one subtest per row. Each row writes a [Result]; the
// generator in ./cmd/compat turns the results into docs/compatibility.md.
//
// The peers (registry, token-server, clients) are installed, pinned, by
// scripts/install-peers.sh; see README.md in this directory.
package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
)

// Status is the outcome of one row.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	// Skip means the row did not run (a -run filter, missing peers).
	Skip Status = "skip"
	// NotApplicable means the client does not support the combination (for
	// example skopeo 1.9 ignores credsStore); Note says why.
	NotApplicable Status = "n/a"
)

// Result is one row of the matrix, written as one JSON line.
type Result struct {
	Client  string `json:"client"`
	Version string `json:"version"`
	// Backend is the helper's store backend: "file" (the encrypted age
	// file) or "keychain" (the OS keychain).
	Backend string `json:"backend"`
	// Keychain names the keychain a keychain row ran against, e.g.
	// "gnome-keyring 42.1-1+b2"; empty for other backends.
	Keychain string `json:"keychain,omitempty"`
	// Scheme is the registry's authentication and what the helper holds:
	// "basic", "token" (a password for the token server),
	// "identity-token" (the <token> user and a refresh token) or
	// "namespaces" (token auth, a credential per namespace of one
	// registry under repository-scoped keys).
	Scheme string `json:"scheme"`
	// Config is where the helper is configured, e.g. "docker credsStore",
	// "notation credHelpers".
	Config string `json:"config"`
	Status Status `json:"status"`
	// Step is the step that failed; empty unless Status is Fail.
	Step string `json:"step,omitempty"`
	// Note explains a failure or an n/a in one line.
	Note string `json:"note,omitempty"`
	// Steps lists the steps that ran, in order.
	Steps   []string `json:"steps,omitempty"`
	Seconds float64  `json:"seconds"`
	// Servers names the registry and token server versions the row ran
	// against, e.g. "registry 3.1.2, token-server 2.8.3+incompatible".
	Servers string `json:"servers,omitempty"`
}

// Key identifies a row; a later result for the same row replaces an
// earlier one.
func (r Result) Key() string {
	return strings.Join([]string{r.Client, r.Backend, r.Scheme, r.Config}, "\x00")
}

// ResultWriter appends results to a JSON lines file; it is safe for
// concurrent use.
type ResultWriter struct {
	mu   sync.Mutex
	path string
}

// NewResultWriter appends to path; an empty path discards the results.
func NewResultWriter(path string) *ResultWriter { return &ResultWriter{path: path} }

// Write appends r as one line.
func (w *ResultWriter) Write(r Result) error {
	if w == nil || w.path == "" {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("failed to open results file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("failed to write results file: %w", err)
	}
	return f.Close()
}

// maxResultLine bounds one JSON line: a result is a few hundred bytes.
const maxResultLine = 1 << 20

// ReadResults reads JSON lines; for rows that appear more than once the
// last one wins, and the order of first appearance is kept.
func ReadResults(r io.Reader) ([]Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxResultLine)
	var out []Result
	index := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var res Result
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		if i, ok := index[res.Key()]; ok {
			out[i] = res
			continue
		}
		index[res.Key()] = len(out)
		out = append(out, res)
	}
	return out, sc.Err()
}

// The table's order: clients, config modes and schemes in these orders,
// anything unknown after them, alphabetically.
var (
	clientOrder = []string{"docker", "notation", "oras", "crane", "regctl", "skopeo", "podman", "buildah", "helm", "cosign"}
	configOrder = []string{"docker credsStore", "docker credHelpers", "notation credsStore", "notation credHelpers", "containers credHelpers", "containers credHelpers (rootless)", "helm credsStore", "helm credHelpers"}
	schemeOrder = []string{"basic", "token", "identity-token", "namespaces", "workload"}
	schemeTitle = map[string]string{
		"basic":          "Basic auth",
		"token":          "token auth, password",
		"identity-token": "token auth, identity token",
		"namespaces":     "token auth, a credential per namespace",
		"workload":       "workload identity (RFC 8693, nothing stored)",
	}
)

func rank(order []string, s string) int {
	if i := slices.Index(order, s); i >= 0 {
		return i
	}
	return len(order)
}

func compareBy(order []string, a, b string) int {
	if ra, rb := rank(order, a), rank(order, b); ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}

// Markdown renders results as the compatibility table: one line per client,
// version, backend and config mode, one column per scheme.
func Markdown(results []Result) string {
	type lineKey struct{ client, version, backend, config string }
	cells := map[lineKey]map[string]Result{}
	var lines []lineKey
	var schemes []string
	for _, r := range results {
		k := lineKey{r.Client, r.Version, r.Backend, r.Config}
		if cells[k] == nil {
			cells[k] = map[string]Result{}
			lines = append(lines, k)
		}
		cells[k][r.Scheme] = r
		if !slices.Contains(schemes, r.Scheme) {
			schemes = append(schemes, r.Scheme)
		}
	}
	slices.SortFunc(schemes, func(a, b string) int { return compareBy(schemeOrder, a, b) })
	slices.SortFunc(lines, func(a, b lineKey) int {
		if c := compareBy(clientOrder, a.client, b.client); c != 0 {
			return c
		}
		if c := strings.Compare(a.version, b.version); c != 0 {
			return c
		}
		if c := strings.Compare(a.backend, b.backend); c != 0 {
			return c
		}
		return compareBy(configOrder, a.config, b.config)
	})

	var notes []string
	noteRef := func(note string) string {
		i := slices.Index(notes, note)
		if i < 0 {
			notes = append(notes, note)
			i = len(notes) - 1
		}
		return fmt.Sprintf("[%d]", i+1)
	}
	cell := func(r Result, ok bool) string {
		if !ok {
			return ""
		}
		switch r.Status {
		case Pass:
			if r.Note != "" {
				return "pass " + noteRef(r.Note)
			}
			return "pass"
		case Fail:
			s := "**FAIL**"
			if r.Step != "" {
				s += " at " + r.Step
			}
			if r.Note != "" {
				s += " " + noteRef(r.Note)
			}
			return s
		case NotApplicable:
			return "n/a " + noteRef(r.Note)
		default:
			return string(r.Status)
		}
	}

	var b strings.Builder
	b.WriteString("| Client | Version | Backend | Helper configured in |")
	for _, s := range schemes {
		t := schemeTitle[s]
		if t == "" {
			t = s
		}
		b.WriteString(" " + t + " |")
	}
	b.WriteString("\n| --- | --- | --- | --- |")
	for range schemes {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, k := range lines {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |", k.client, k.version, k.backend, k.config)
		for _, s := range schemes {
			r, ok := cells[k][s]
			b.WriteString(" " + cell(r, ok) + " |")
		}
		b.WriteString("\n")
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for i, n := range notes {
			fmt.Fprintf(&b, "- [%d] %s\n", i+1, strings.ReplaceAll(n, "\n", " "))
		}
	}
	return b.String()
}

// Servers lists the distinct Servers values of results, in order.
func Servers(results []Result) []string {
	var out []string
	for _, r := range results {
		if r.Servers != "" && !slices.Contains(out, r.Servers) {
			out = append(out, r.Servers)
		}
	}
	return out
}

// Keychains lists the distinct Keychain values of results, in order.
func Keychains(results []Result) []string {
	var out []string
	for _, r := range results {
		if r.Keychain != "" && !slices.Contains(out, r.Keychain) {
			out = append(out, r.Keychain)
		}
	}
	return out
}

// Summary counts results by status.
func Summary(results []Result) map[Status]int {
	m := map[Status]int{}
	for _, r := range results {
		m[r.Status]++
	}
	return m
}
