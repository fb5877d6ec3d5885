package helper_test

import (
	"os"
	"strings"
	"testing"

	"github.com/notaryproject/docker-credential-notation/helper"
)

// TestReadmeNormalizationTable keeps the README's table of server-URL
// spellings true: every row is checked against ParseServerURL.
func TestReadmeNormalizationTable(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "<!-- normalization:begin -->")
	table, _, ok2 := strings.Cut(table, "<!-- normalization:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no normalization table between its markers")
	}
	rows := 0
	for line := range strings.Lines(table) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) != 4 || !strings.Contains(cells[1], "`") {
			continue // header, separator or blank line
		}
		in := strings.Trim(strings.TrimSpace(cells[1]), "`")
		want := strings.Trim(strings.TrimSpace(cells[2]), "`")
		rows++
		k, err := helper.ParseServerURL(in)
		if rejected, ok := strings.CutPrefix(want, "rejected: "); ok {
			if err == nil || !strings.Contains(err.Error(), rejected) {
				t.Errorf("README says %q is rejected with %q; ParseServerURL gives %v, %v", in, rejected, k, err)
			}
			continue
		}
		if err != nil || k.String() != want {
			t.Errorf("README says %q has key %q; ParseServerURL gives %q, %v", in, want, k, err)
		}
	}
	if rows < 15 {
		t.Errorf("README's normalization table has %d rows, want at least 15", rows)
	}
}
