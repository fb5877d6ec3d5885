package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
)

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func benchName(id, action string, n int) string { return fmt.Sprintf("%s.%s.%d", id, action, n) }

// floor is the hello-world's median at count n, in ms.
func (d *data) floor(n int) float64 {
	v, ok := d.median[benchName("floor", "direct", n)]
	if !ok {
		return math.NaN()
	}
	return v * 1000
}

// wrapper is what withstdin adds at count n, in ms (never negative).
func (d *data) wrapper(n int) float64 {
	ws, ok1 := d.median[benchName("floor", "withstdin", n)]
	direct, ok2 := d.median[benchName("floor", "direct", n)]
	if !ok1 || !ok2 {
		return 0
	}
	return math.Max(0, (ws-direct)*1000)
}

// ms is the time of a measured command at count n in ms, wrapper removed;
// NaN if it was not measured.
func (d *data) ms(name string, n int) float64 {
	v, ok := d.median[name]
	if !ok {
		return math.NaN()
	}
	return v*1000 - d.wrapper(n)
}

// t is ms for helper id's action at count n.
func (d *data) t(id, action string, n int) float64 { return d.ms(benchName(id, action, n), n) }

// bestRatio is the ratio to the floor of the fastest runs (each minus the
// wrapper's fastest overhead): what the command costs when nothing else
// disturbs it, which stays meaningful on a busy machine.
func (d *data) bestRatio(id, action string, n int) float64 {
	t, ok1 := d.min[benchName(id, action, n)]
	fd, ok2 := d.min[benchName("floor", "direct", n)]
	fw, ok3 := d.min[benchName("floor", "withstdin", n)]
	if !ok1 || !ok2 || !ok3 {
		return math.NaN()
	}
	return (t - math.Max(0, fw-fd)) / fd
}

// rssKiB is the median peak RSS of a measured command.
func (d *data) rssKiB(name string) float64 { return median(d.rss[name]) }

// failure says why helper id's action at count n was not measured, if it
// failed.
func (d *data) failure(id, action string, n int) string {
	if why, ok := d.failed[benchName(id, action, n)]; ok {
		return why
	}
	for _, m := range d.counts {
		if m > n {
			break
		}
		if why, ok := d.failed[benchName(id, "populate", m)]; ok {
			return why
		}
	}
	return ""
}

// sideBySide is command name's result in the side-by-side run at count n.
func (d *data) sideBySide(n int, name string) (sbsResult, bool) {
	for _, r := range d.sbs[n] {
		if r.Name == name {
			return r, true
		}
	}
	return sbsResult{}, false
}

// compared is the time in ms of helper idA's actA and idB's actB at count
// n, to compare with each other: from the side-by-side run when both are
// in it (there the machine's drift slows them alike), else the hyperfine
// medians; sideBySide says which.
func (d *data) compared(n int, idA, actA, idB, actB string) (a, b float64, sideBySide bool) {
	ra, okA := d.sideBySide(n, idA+"."+actA)
	rb, okB := d.sideBySide(n, idB+"."+actB)
	if okA && okB {
		return ra.ms(), rb.ms(), true
	}
	return d.t(idA, actA, n), d.t(idB, actB, n), false
}

// sbsFailed is the NAME run.sh records when the side-by-side run at count n
// failed as a whole.
func sbsFailed(n int) string { return fmt.Sprintf("sidebyside.%d", n) }

// ms is the median wall time in ms.
func (r sbsResult) ms() float64 { return float64(r.MedianNs) / 1e6 }

func (d *data) helper(id string) *helperInfo {
	for i := range d.helpers {
		if d.helpers[i].ID == id {
			return &d.helpers[i]
		}
	}
	return nil
}

// has says whether this run measured count n.
func (d *data) has(n int) bool { return slices.Contains(d.counts, n) }

func (d *data) variantSize(i int) int64 {
	for _, v := range d.variants {
		if v.Index == i {
			return v.Size
		}
	}
	return 0
}

// initTotal is the median over runs of the summed package init clock time,
// with the median allocated bytes.
func (d *data) initTotal(name string) (ms, bytes float64, ok bool) {
	runs := d.inits[name]
	if len(runs) == 0 {
		return 0, 0, false
	}
	var totals, bys []float64
	for _, pkgs := range runs {
		var t, b float64
		// In a fixed order: a float sum in map order can round either
		// way at the last digit shown.
		for _, p := range slices.Sorted(maps.Keys(pkgs)) {
			t += pkgs[p].clockMS
			b += pkgs[p].bytes
		}
		totals = append(totals, t)
		bys = append(bys, b)
	}
	return median(totals), median(bys), true
}

// initTop lists the k packages with the largest median init clock time.
func (d *data) initTop(name string, k int) string {
	per := map[string][]float64{}
	for _, pkgs := range d.inits[name] {
		for p, l := range pkgs {
			per[p] = append(per[p], l.clockMS)
		}
	}
	type pm struct {
		p  string
		ms float64
	}
	var all []pm
	for p, v := range per {
		// A package missing from some runs counts as 0 there.
		for len(v) < len(d.inits[name]) {
			v = append(v, 0)
		}
		all = append(all, pm{p, median(v)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].ms != all[j].ms {
			return all[i].ms > all[j].ms
		}
		return all[i].p < all[j].p
	})
	var parts []string
	for i := 0; i < len(all) && i < k; i++ {
		if all[i].ms < 0.01 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", all[i].p, all[i].ms))
	}
	return strings.Join(parts, ", ")
}
