// Package hostpattern matches registry hosts against the keys of the config
// file's "registries": exact keys ("reg.example.com", "reg.example.com:5000")
// and patterns in which "*" stands for one or more whole DNS labels
// ("*.ci.example", "*.dkr.ecr.*.amazonaws.com"), so that a new region or
// project needs no new entry.
//
// An exact key beats every pattern; among patterns the most specific (the
// most literal labels) wins, and two patterns that can match the same host
// with as many literal labels each are a configuration error ([NewTable]
// names both). A port is part of the host: a pattern without one matches
// hosts without one, as an exact key does.
//
// The usual entry point is [NewTable], then [Table.Lookup].
package hostpattern

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Pattern is one parsed pattern.
type Pattern struct {
	raw    string
	labels []string // "*" or a literal label, lower case
	port   string
}

// IsPattern reports whether key is a pattern rather than an exact host.
func IsPattern(key string) bool { return strings.Contains(key, "*") }

// Parse parses a pattern: DNS labels separated by dots, each "*" or a
// literal without "*", at least one literal, and an optional ":port".
func Parse(s string) (Pattern, error) {
	host, port, hasPort := strings.Cut(s, ":")
	if hasPort && (port == "" || strings.Trim(port, "0123456789") != "" || len(port) > 5) {
		return Pattern{}, fmt.Errorf("invalid registry pattern %q: the port must be a number", s)
	}
	if host == "" {
		return Pattern{}, fmt.Errorf("invalid registry pattern %q: no host", s)
	}
	p := Pattern{raw: s, port: port}
	literals := 0
	for _, l := range strings.Split(strings.ToLower(host), ".") {
		switch {
		case l == "*":
		case l == "":
			return Pattern{}, fmt.Errorf("invalid registry pattern %q: an empty label", s)
		case strings.Contains(l, "*"):
			return Pattern{}, fmt.Errorf("invalid registry pattern %q: \"*\" stands for whole labels only (%q)", s, l)
		case !validLabel(l):
			return Pattern{}, fmt.Errorf("invalid registry pattern %q: %q is not a DNS label", s, l)
		default:
			literals++
		}
		p.labels = append(p.labels, l)
	}
	if literals == 0 {
		return Pattern{}, fmt.Errorf("invalid registry pattern %q: it would match every registry; name at least one label", s)
	}
	return p, nil
}

// validLabel: letters, digits and hyphens, not starting or ending with a
// hyphen, at most 63 characters (RFC 1123).
func validLabel(l string) bool {
	if len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.raw }

// Literals is the number of literal labels: the pattern's specificity.
func (p Pattern) Literals() int {
	n := 0
	for _, l := range p.labels {
		if l != "*" {
			n++
		}
	}
	return n
}

// Match reports whether hostport (a registry host, optionally with a port,
// as helper.Key spells it: lower case) matches.
func (p Pattern) Match(hostport string) bool {
	host, port, _ := strings.Cut(hostport, ":")
	if port != p.port || host == "" {
		return false
	}
	return matchLabels(p.labels, strings.Split(strings.ToLower(host), "."))
}

// matchLabels matches pattern labels against host labels; "*" takes one or
// more labels.
func matchLabels(pat, host []string) bool {
	// ok[j]: pat[:i] matches host[:j], row by row.
	ok := make([]bool, len(host)+1)
	ok[0] = true
	for _, l := range pat {
		next := make([]bool, len(host)+1)
		for j := 1; j <= len(host); j++ {
			if l == "*" {
				next[j] = ok[j-1] || next[j-1]
			} else {
				next[j] = ok[j-1] && host[j-1] == l
			}
		}
		ok = next
	}
	return ok[len(host)]
}

// Overlaps reports whether some host matches both p and q.
func (p Pattern) Overlaps(q Pattern) bool {
	if p.port != q.port {
		return false
	}
	// can[i][j]: p.labels[:i] and q.labels[:j] can match one label
	// sequence. A "*" takes one or more labels.
	a, b := p.labels, q.labels
	can := make([][]bool, len(a)+1)
	for i := range can {
		can[i] = make([]bool, len(b)+1)
	}
	can[0][0] = true
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			x, y := a[i-1], b[j-1]
			switch {
			case x == "*" && y == "*":
				// Both end on the same label; either may have taken more.
				can[i][j] = can[i-1][j-1] || can[i][j-1] || can[i-1][j]
			case x == "*":
				// y is a literal the star takes; the star may take more before it.
				can[i][j] = can[i-1][j-1] || can[i][j-1]
			case y == "*":
				can[i][j] = can[i-1][j-1] || can[i-1][j]
			default:
				can[i][j] = x == y && can[i-1][j-1]
			}
		}
	}
	return can[len(a)][len(b)]
}

// Table resolves hosts to the key of their entry.
type Table struct {
	exact    map[string]string // lower-cased host[:port] -> key as written
	patterns []Pattern         // most specific first
}

// ErrAmbiguous is wrapped by NewTable's error for two patterns that tie.
var ErrAmbiguous = errors.New("ambiguous registry patterns")

// NewTable builds the table of keys. exactHost turns an exact key into the
// host[:port] it stands for (helper.ParseServerURL's, so that every spelling
// of a registry matches); a key it refuses is left out of the table, for
// the caller's own check to report.
func NewTable(keys []string, exactHost func(string) (string, bool)) (*Table, error) {
	t := &Table{exact: map[string]string{}}
	sorted := slices.Clone(keys)
	slices.Sort(sorted)
	for _, k := range sorted {
		if !IsPattern(k) {
			if h, ok := exactHost(k); ok {
				t.exact[h] = k
			}
			continue
		}
		p, err := Parse(k)
		if err != nil {
			return nil, err
		}
		t.patterns = append(t.patterns, p)
	}
	slices.SortStableFunc(t.patterns, func(a, b Pattern) int { return b.Literals() - a.Literals() })
	for i, a := range t.patterns {
		for _, b := range t.patterns[i+1:] {
			if a.Literals() == b.Literals() && a.Overlaps(b) {
				return nil, fmt.Errorf("%w: %q and %q can match the same registry with %d literal labels each; make one more specific", ErrAmbiguous, a.raw, b.raw, a.Literals())
			}
		}
	}
	return t, nil
}

// Lookup returns the key of hostport's entry: the exact one, else the most
// specific pattern that matches.
func (t *Table) Lookup(hostport string) (key string, ok bool) {
	if t == nil {
		return "", false
	}
	if k, ok := t.exact[strings.ToLower(hostport)]; ok {
		return k, true
	}
	for _, p := range t.patterns {
		if p.Match(hostport) {
			return p.raw, true
		}
	}
	return "", false
}
