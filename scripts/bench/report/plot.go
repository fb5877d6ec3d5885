package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// writePlot writes DIR/plot.gp and its data files: get and list latency
// against the entry count, one line per helper, the floor dashed.
func writePlot(d *data, chart string) error {
	var gp strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&gp, format, a...) }
	p("# Written by scripts/bench/report; run with gnuplot.\n")
	p("set terminal pngcairo size 1400,700 font 'DejaVu Sans,11' linewidth 1.5\n")
	p("set output %s\n", gpQuote(chart))
	title := "Whole-process latency against stored entries (median)"
	if d.meta.Quick {
		title += " (quick mode: not a result)"
	}
	// Both panels above one legend; a helper has the same colour in both.
	p("set multiplot layout 1,2 title %s font ',13' margins 0.06,0.98,0.31,0.90 spacing 0.07,0\n", gpQuote(title))
	p("set logscale xy\nset grid xtics ytics mytics\nset xlabel 'stored entries'\nset ylabel 'ms'\n")
	p("set xrange [0.7:%d]\n", max(slices.Max(d.counts)*14/10, 2))
	p("set format y '%%g'\nset format x '%%g'\n")
	p("set key at screen 0.5,0.01 center bottom horizontal Left reverse maxcols 3 width -8 font ',10' samplen 3\n")

	floorFile := filepath.Join(d.dir, "plot.floor.dat")
	var fl strings.Builder
	for _, n := range d.counts {
		fmt.Fprintf(&fl, "%d %g\n", n, d.floor(n))
	}
	if err := os.WriteFile(floorFile, []byte(fl.String()), 0o644); err != nil {
		return err
	}
	styles := []string{"lc rgb '#d62728' pt 7", "lc rgb '#1f77b4' pt 5", "lc rgb '#2ca02c' pt 9", "lc rgb '#ff7f0e' pt 11", "lc rgb '#9467bd' pt 13", "lc rgb '#8c564b' pt 3", "lc rgb '#e377c2' pt 15"}
	for i, a := range []string{"get", "list"} {
		if i > 0 {
			p("unset key\n") // every helper has get: the first panel's key names them all
		}
		p("set title %s\n", gpQuote(a))
		var plots []string
		for i, h := range d.helpers {
			if !slices.Contains(h.Actions, a) {
				continue
			}
			var dat strings.Builder
			for _, n := range d.counts {
				if t := d.t(h.ID, a, n); !math.IsNaN(t) {
					fmt.Fprintf(&dat, "%d %g\n", n, t)
				}
			}
			if dat.Len() == 0 {
				continue
			}
			file := filepath.Join(d.dir, fmt.Sprintf("plot.%s.%s.dat", a, h.ID))
			if err := os.WriteFile(file, []byte(dat.String()), 0o644); err != nil {
				return err
			}
			lw := "lw 1.5"
			if h.ID == idFile {
				lw = "lw 3"
			}
			plots = append(plots, fmt.Sprintf("%s with linespoints %s %s ps 1.3 title %s", gpQuote(file), styles[i%len(styles)], lw, gpQuote(h.Label)))
		}
		plots = append(plots, fmt.Sprintf("%s with lines dt 2 lc rgb '#555555' lw 2 title 'Go hello-world (floor)'", gpQuote(floorFile)))
		p("plot %s\n", strings.Join(plots, ", \\\n     "))
	}
	p("unset multiplot\n")
	return os.WriteFile(filepath.Join(d.dir, "plot.gp"), []byte(gp.String()), 0o644)
}

// gpQuote quotes s as a gnuplot single-quoted string.
func gpQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
