// Command report turns the results of scripts/bench/run.sh into
// BENCHMARKS.md and a gnuplot script for its chart (run.sh runs gnuplot).
//
//	go run ./scripts/bench/report -results DIR -out BENCHMARKS.md -chart docs/bench/latency.png
//
// It reads from DIR: meta.json, helpers.tsv, variants.tsv, one hyperfine
// JSON export per command (NAME.json, NAME being "<helper>.<action>.<count>",
// "floor.direct.<count>", "floor.withstdin.<count>" or "variant<i>.get.1"),
// NAME.failed for a measurement that could not be made, rss.tsv (NAME, KiB),
// inittrace.tsv (NAME, run, package, clock ms, bytes, allocs), gobench.txt
// and, if run.sh wrote them, sidebyside/<count>.json (scripts/bench/sidebyside's
// results, commands named "hello" and "<helper>.get"; sidebyside.<count>.failed
// when that run failed). It writes the Markdown file, DIR/plot.gp and the
// data files the script plots.
//
// The Go code computes: the tables, the targets and the chart. The prose
// around them, the hand-written analysis of the last full run included, is
// BENCHMARKS.md.tmpl (text/template) next to this file; edit it there.
//
// Every helper's time is the hyperfine median minus what run.sh's withstdin
// wrapper adds (the hello-world through it minus the hello-world without
// it, measured at the same entry count), so that it compares with the floor
// as hyperfine compares shell commands after subtracting the shell.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("results", "", "results directory written by run.sh")
	out := flag.String("out", "BENCHMARKS.md", "Markdown file to write")
	chart := flag.String("chart", "docs/bench/latency.png", "PNG the gnuplot script draws")
	flag.Parse()
	if err := run(*dir, *out, *chart); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(dir, out, chart string) error {
	if dir == "" {
		return errors.New("no -results directory")
	}
	d, err := load(dir)
	if err != nil {
		return err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	absChart, err := filepath.Abs(chart)
	if err != nil {
		return err
	}
	// The Markdown links the chart relative to itself.
	rel, err := filepath.Rel(filepath.Dir(absOut), absChart)
	if err != nil {
		rel = absChart
	}
	if err := writePlot(d, absChart); err != nil {
		return err
	}
	md, err := d.markdown(filepath.ToSlash(rel))
	if err != nil {
		return err
	}
	return os.WriteFile(out, md, 0o644)
}
