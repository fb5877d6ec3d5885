package hostpattern

import (
	"errors"
	"strings"
	"testing"
)

func exact(k string) (string, bool) { return strings.ToLower(k), !strings.ContainsAny(k, "/ ") }

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, host string
		want          bool
	}{
		{"*.ci.example", "a.ci.example", true},
		{"*.ci.example", "a.b.ci.example", true},
		{"*.ci.example", "ci.example", false},
		{"*.ci.example", "a.ci.example:5000", false},
		{"*.ci.example:5000", "a.ci.example:5000", true},
		{"*.ci.example:5000", "a.ci.example:5001", false},
		{"*.dkr.ecr.*.amazonaws.com", "123456789012.dkr.ecr.eu-west-3.amazonaws.com", true},
		{"*.dkr.ecr.*.amazonaws.com", "123.dkr.ecr.amazonaws.com", false},
		{"*.dkr.ecr.*.amazonaws.com", "123.dkr.ecr.a.b.amazonaws.com", true},
		{"*.dkr.ecr.*.amazonaws.com", "dkr.ecr.eu.amazonaws.com", false},
		{"*.dkr.ecr.*.amazonaws.com", "123.dkr.ecr.eu.amazonaws.com.evil.example", false},
		{"reg.*.example", "reg.eu.example", true},
		{"reg.*.example", "evilreg.eu.example", false},
		{"*.CI.example", "a.ci.example", true},
	} {
		p, err := Parse(tc.pattern)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.pattern, err)
		}
		if got := p.Match(tc.host); got != tc.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tc.pattern, tc.host, got, tc.want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{"*", "*.*", "a*.example", "*.exa mple", "*..example", "*.example:", "*.example:http", "*.-bad.example", "*." + strings.Repeat("a", 64)} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", s)
		}
	}
}

func TestTablePrecedence(t *testing.T) {
	table, err := NewTable([]string{"*.example.com", "*.eu.example.com", "reg.eu.example.com", "*.example.com:5000"}, exact)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{
		"reg.eu.example.com":      "reg.eu.example.com", // exact beats every pattern
		"REG.eu.example.com":      "reg.eu.example.com",
		"other.eu.example.com":    "*.eu.example.com", // more literal labels
		"a.b.eu.example.com":      "*.eu.example.com",
		"x.us.example.com":        "*.example.com",
		"x.us.example.com:5000":   "*.example.com:5000",
		"x.us.example.com:6000":   "",
		"example.com":             "",
		"reg.eu.example.com:5000": "*.example.com:5000",
	} {
		got, ok := table.Lookup(host)
		if got != want || ok != (want != "") {
			t.Errorf("Lookup(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
}

func TestTableTie(t *testing.T) {
	for _, keys := range [][]string{
		{"*.a.example", "x.*.example"},
		{"*.dkr.ecr.*.amazonaws.com", "*.*.ecr.eu.amazonaws.com"},
		{"*.x.example", "*.*.x.example"},
	} {
		_, err := NewTable(keys, exact)
		if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), keys[0]) || !strings.Contains(err.Error(), keys[1]) {
			t.Errorf("NewTable(%q) = %v, want ErrAmbiguous naming both", keys, err)
		}
	}
	// Equal specificity without overlap is fine.
	for _, keys := range [][]string{
		{"*.a.example", "*.b.example"},
		{"*.a.example", "*.a.example:5000"},
		{"x.*.example", "*.y.other"},
	} {
		if _, err := NewTable(keys, exact); err != nil {
			t.Errorf("NewTable(%q): %v", keys, err)
		}
	}
}

// FuzzPatterns checks Overlaps against Match: a host that both patterns
// match means they overlap, and a pattern matches a host built from it.
func FuzzPatterns(f *testing.F) {
	f.Add("*.ci.example", "x.*.example", "a.ci.example")
	f.Add("*.dkr.ecr.*.amazonaws.com", "*.*.ecr.eu.amazonaws.com", "1.dkr.ecr.eu.amazonaws.com")
	f.Add("*.a.b", "*.*.b", "x.y.a.b")
	f.Fuzz(func(t *testing.T, a, b, host string) {
		p, err := Parse(a)
		if err != nil {
			return
		}
		q, err := Parse(b)
		if err != nil {
			return
		}
		if p.Match(host) && q.Match(host) && !p.Overlaps(q) {
			t.Fatalf("%q and %q both match %q but Overlaps says no", a, b, host)
		}
		if p.Overlaps(q) != q.Overlaps(p) {
			t.Fatalf("Overlaps(%q, %q) is not symmetric", a, b)
		}
		// Replacing each star by one label gives a host the pattern matches.
		built := strings.ReplaceAll(strings.ToLower(a), "*", "x")
		if !p.Match(built) {
			t.Fatalf("%q does not match %q", a, built)
		}
	})
}
