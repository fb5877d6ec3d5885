package main

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from this run")

// TestGolden runs the generator on testdata/results, a small run of two
// counts with a failed measurement and a store that could not be filled,
// and compares BENCHMARKS.md, plot.gp and the data it plots with the
// golden files. After a deliberate change: go test ./scripts/bench/report -update
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	res := filepath.Join(dir, "results")
	// writePlot writes into the results directory: a copy, not testdata.
	if err := os.CopyFS(res, os.DirFS("testdata/results")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "BENCHMARKS.md")
	if err := run(res, out, filepath.Join(dir, "docs", "bench", "latency.png")); err != nil {
		t.Fatal(err)
	}

	md := readFile(t, out)
	if !strings.Contains(md, "](docs/bench/latency.png)") {
		t.Error("the chart is not linked relative to the Markdown file")
	}
	// plot.gp names its files by absolute path.
	gp := strings.ReplaceAll(readFile(t, filepath.Join(res, "plot.gp")), dir, "$DIR")
	dats, err := filepath.Glob(filepath.Join(res, "plot.*.dat"))
	if err != nil {
		t.Fatal(err)
	}
	var dat strings.Builder
	for _, f := range dats { // Glob sorts
		dat.WriteString("# " + filepath.Base(f) + "\n" + readFile(t, f))
	}

	for _, g := range []struct{ name, got string }{
		{"BENCHMARKS.md.golden", md},
		{"plot.gp.golden", gp},
		{"plot.dat.golden", dat.String()},
	} {
		path := filepath.Join("testdata", g.name)
		if *update {
			if err := os.WriteFile(path, []byte(g.got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if want := readFile(t, path); g.got != want {
			t.Errorf("%s differs from the generator's output (rerun with -update after a deliberate change):\n%s", path, lineDiff(want, g.got))
		}
	}
}

// TestBanners checks the parts of the page that the fixture's full, quiet
// run does not show: the quick-mode and noisy-machine notes, and the
// analysis left out of a quick run.
func TestBanners(t *testing.T) {
	d, err := load("testdata/results")
	if err != nil {
		t.Fatal(err)
	}
	page := func() string {
		t.Helper()
		b, err := d.markdown("latency.png")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const (
		quick    = "> **Quick mode**"
		noisy    = "> **Noisy machine**: the load average was 1.80 1.00 0.50 at the start"
		analysis = "## Why the targets are missed"
	)
	full := page()
	for _, s := range []string{quick, "> **Noisy machine**"} {
		if strings.Contains(full, s) {
			t.Errorf("a full run on a quiet machine says %q", s)
		}
	}
	if !strings.Contains(full, analysis) {
		t.Errorf("a full run has no %q", analysis)
	}

	d.meta.Quick = true
	d.meta.LoadStart = "1.80 1.00 0.50" // over 0.75 × 2 cores
	q := page()
	for _, s := range []string{quick, noisy} {
		if !strings.Contains(q, s) {
			t.Errorf("a quick run on a busy machine does not say %q", s)
		}
	}
	if strings.Contains(q, analysis) {
		t.Errorf("a quick run has the full run's analysis")
	}
}

// A results directory from before run.sh's side-by-side runs still makes a
// page: issue 16's targets say not measured, and there is no side-by-side
// section.
func TestWithoutSideBySide(t *testing.T) {
	res := filepath.Join(t.TempDir(), "results")
	if err := os.CopyFS(res, os.DirFS("testdata/results")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(res, "sidebyside")); err != nil {
		t.Fatal(err)
	}
	d, err := load(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range d.targets() {
		if strings.Contains(tg.what, "side by side") && tg.verdict != notMeasured {
			t.Errorf("%s: %v (%s) without a side-by-side run", tg.what, tg.verdict, tg.status)
		}
	}
	b, err := d.markdown("latency.png")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "## Side by side") {
		t.Error("the page has a side-by-side section without a side-by-side run")
	}
}

func TestNoisy(t *testing.T) {
	for _, tc := range []struct {
		start, end, nproc string
		want              bool
	}{
		{"0.30 1.74 3.48", "1.64 1.58 2.47", "2", false},
		{"1.60 1.00 1.00", "0.50 0.50 0.50", "2", true}, // busy before the run
		{"0.10 0.10 0.10", "2.60 1.00 1.00", "2", true}, // busy beside it: 2.6 - 1 > 1.5
		{"0.10 0.10 0.10", "2.40 1.00 1.00", "2", false},
		{"", "", "", false},
	} {
		if got := noisy(meta{LoadStart: tc.start, LoadEnd: tc.end, Nproc: tc.nproc}); got != tc.want {
			t.Errorf("noisy(load %q to %q, %s cores) = %v, want %v", tc.start, tc.end, tc.nproc, got, tc.want)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lineDiff shows the first lines where want and got part.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
			shown++
		}
	}
	return b.String()
}
