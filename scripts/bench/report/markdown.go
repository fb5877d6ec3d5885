package main

import (
	"bytes"
	_ "embed"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// The prose of BENCHMARKS.md; page is what it is executed with.
//
//go:embed BENCHMARKS.md.tmpl
var pageTemplate string

// page is what the template sees: the run's facts, and every table and
// target already computed and formatted.
type page struct {
	Meta     meta
	Duration string // of the whole run, in minutes
	// Noisy: other jobs shared the CPUs (by the load averages).
	Noisy   bool
	Targets *table
	Chart   string // the chart's path relative to the Markdown file
	Latency []actionTable
	Against *table // nil without the file store row
	// SideBySide is the side-by-side runs' table (nil in a run without
	// them), SideBySideRounds their number of rounds ("200", or "20–200"
	// if the runs differ).
	SideBySide       *table
	SideBySideRounds string
	// Failures lists what could not be measured, by NAME.
	Failures []failure
	Memory   *table
	Startup  *table
	Variants int
	Builds   *table
	// GoBench is gobench.txt's table (nil without benchmarks), after
	// GoBenchHead, its pkg and cpu lines.
	GoBench     *table
	GoBenchHead string
	// WrapperMS is the median over counts of what withstdin adds.
	WrapperMS string
	Keyring   string // gnome-keyring's version
	Helpers   []helperInfo
	// Kubelet: the file store row times kubelet-provider.
	Kubelet bool
}

type actionTable struct {
	Action string
	Table  *table
}

type failure struct{ Name, Why string }

var funcs = template.FuncMap{
	"count": fmtCount,
	"trim":  strings.TrimPrefix,
}

func (d *data) markdown(chart string) ([]byte, error) {
	tmpl, err := template.New("BENCHMARKS.md.tmpl").Funcs(funcs).Parse(pageTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, d.page(chart)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (d *data) page(chart string) *page {
	m := d.meta
	p := &page{
		Meta:     m,
		Duration: duration(m.DurationS),
		Noisy:    noisy(m),
		Targets:  targetsTable(d.targets()),
		Chart:    chart,
		Memory:   d.memoryTable(),
		Startup:  d.startupTable(),
		Variants: len(d.variants),
		Builds:   d.buildsTable(),
		GoBench:  d.gobench.table(),
		Keyring:  strings.TrimPrefix(m.Keyring, "gnome-keyring-daemon: "),
		Helpers:  d.helpers,
	}
	for _, a := range actions {
		if t := d.latencyTable(a); t != nil {
			p.Latency = append(p.Latency, actionTable{a, t})
		}
	}
	p.Against = d.againstTable()
	p.SideBySide, p.SideBySideRounds = d.sideBySideTable()
	for _, n := range slices.Sorted(maps.Keys(d.failed)) {
		p.Failures = append(p.Failures, failure{n, strings.Join(strings.Fields(d.failed[n]), " ")})
	}
	var w []float64
	for _, n := range d.counts {
		w = append(w, d.wrapper(n))
	}
	p.WrapperMS = fmtMS(median(w))
	p.GoBenchHead = strings.Join(d.gobench.head, ", ")
	if h := d.helper(idFile); h != nil {
		p.Kubelet = h.has("kubelet")
	}
	return p
}

// noisy says whether the 1-minute load average at the start, or at the
// end (where the run's own load, about one core, is discounted), was over
// three quarters of the cores.
func noisy(m meta) bool {
	start, _ := strconv.ParseFloat(strings.Fields(m.LoadStart + " 0")[0], 64)
	end, _ := strconv.ParseFloat(strings.Fields(m.LoadEnd + " 0")[0], 64)
	np, _ := strconv.Atoi(m.Nproc)
	return np > 0 && (start > 0.75*float64(np) || end-1 > 0.75*float64(np))
}

func targetsTable(ts []target) *table {
	t := newTable(0, "target", "measured", "status")
	for _, tg := range ts {
		t.add(tg.what, tg.measured, tg.status)
	}
	return t
}

// countHead is a table head: the given columns, then one per entry count.
func (d *data) countHead(cols ...string) []string {
	for _, n := range d.counts {
		cols = append(cols, fmtCount(n))
	}
	return cols
}

// latencyTable is action's times with their ratio to the floor, one row
// per helper that has the action; nil if none has.
func (d *data) latencyTable(action string) *table {
	t := newTable(1, d.countHead("helper")...)
	row := []string{"Go hello-world (floor)"}
	for _, n := range d.counts {
		row = append(row, fmtMS(d.floor(n)))
	}
	t.add(row...)
	some := false
	for _, h := range d.helpers {
		if !h.has(action) {
			continue
		}
		some = true
		row := []string{h.Label}
		for _, n := range d.counts {
			v := d.t(h.ID, action, n)
			switch {
			case !math.IsNaN(v):
				row = append(row, fmt.Sprintf("%s (%s)", fmtMS(v), fmtX(v/d.floor(n))))
			case d.failure(h.ID, action, n) != "":
				row = append(row, "failed")
			default:
				row = append(row, "—")
			}
		}
		t.add(row...)
	}
	if !some {
		return nil
	}
	return t
}

// againstTable divides every other helper's time by the file store's, for
// each action and count the file store has and another helper times too.
func (d *data) againstTable() *table {
	if d.helper(idFile) == nil {
		return nil
	}
	type col struct {
		action string
		n      int
	}
	var cols []col
	head := []string{"helper"}
	for _, a := range actions {
		shared := slices.ContainsFunc(d.helpers, func(h helperInfo) bool { return h.ID != idFile && h.has(a) })
		for _, n := range d.counts {
			if shared && !math.IsNaN(d.t(idFile, a, n)) {
				cols = append(cols, col{a, n})
				head = append(head, a+" "+fmtCount(n))
			}
		}
	}
	t := newTable(1, head...)
	for _, o := range d.helpers {
		if o.ID == idFile {
			continue
		}
		row := []string{o.Label}
		for _, c := range cols {
			row = append(row, fmtX(d.t(o.ID, c.action, c.n)/d.t(idFile, c.action, c.n)))
		}
		t.add(row...)
	}
	return t
}

// sideBySideTable is every side-by-side run, count by count, each command
// in the order run.sh gave them: its median and 10th percentile, its
// ratios to gcr's get and the hello-world of the same run, and the medians
// of its peak RSS and minor page faults. It returns nil without any run,
// and the range of their rounds.
func (d *data) sideBySideTable() (*table, string) {
	// No peak RSS: sidebyside's wait4 counts its own peak into every child
	// (see getMemoryTarget); the memory table has GNU time's.
	t := newTable(2, "entries", "command", "median (ms)", "p10 (ms)", "× gcr", "× hello", "minor faults")
	fewest, most := math.MaxInt, 0
	for _, n := range d.counts {
		gcr, okG := d.sideBySide(n, sbsGet(idGCR))
		hello, okH := d.sideBySide(n, sbsHello)
		for _, r := range d.sbs[n] {
			xg, xh := "—", "—"
			if okG {
				xg = fmtX(r.ms() / gcr.ms())
			}
			if okH {
				xh = fmtX(r.ms() / hello.ms())
			}
			t.add(fmtCount(n), d.sbsLabel(r.Name), fmtMS(r.ms()), fmtMS(float64(r.P10Ns)/1e6), xg, xh,
				strconv.FormatInt(r.MedianMinorFaults, 10))
			fewest, most = min(fewest, len(r.WallNs)), max(most, len(r.WallNs))
		}
	}
	switch {
	case len(t.rows) == 0:
		return nil, ""
	case fewest == most:
		return t, strconv.Itoa(most)
	default:
		return t, fmt.Sprintf("%d–%d", fewest, most)
	}
}

// sbsLabel names a side-by-side command as the other tables name its
// helper; a command run.sh did not name after a helper keeps its name.
func (d *data) sbsLabel(name string) string {
	if name == sbsHello {
		return "Go hello-world"
	}
	if id, ok := strings.CutSuffix(name, ".get"); ok {
		if h := d.helper(id); h != nil {
			return h.Label
		}
	}
	if id, ok := strings.CutSuffix(name, ".kubelet"); ok {
		if h := d.helper(id); h != nil {
			return h.Label + ", `kubelet-provider`"
		}
	}
	return "`" + name + "`"
}

// memoryTable is the median peak RSS of every command of every helper.
func (d *data) memoryTable() *table {
	t := newTable(2, d.countHead("helper", "command")...)
	row := []string{"Go hello-world (floor)", ""}
	for _, n := range d.counts {
		row = append(row, fmtMiB(d.rssKiB(benchName("floor", "withstdin", n))))
	}
	t.add(row...)
	for _, h := range d.helpers {
		for _, a := range h.Actions {
			row := []string{h.Label, a}
			for _, n := range d.counts {
				row = append(row, fmtMiB(d.rssKiB(benchName(h.ID, a, n))))
			}
			t.add(row...)
		}
	}
	return t
}

// startupTable is package init and size per binary: this helper's
// `make build` once (its rows share that binary), the others, the floor.
func (d *data) startupTable() *table {
	t := newTable(1, "binary", "size (MiB)", "init (ms)", "init allocated (KiB)", "largest inits (ms)")
	t.align[len(t.align)-1] = "---"
	bins := append([]helperInfo{{ID: "variant0", Label: "docker-credential-notation (`make build`)", Size: d.variantSize(0)}}, d.helpers...)
	for _, h := range bins {
		if strings.HasPrefix(h.ID, "notation-") {
			continue // the same binary as variant0
		}
		size := fmt.Sprintf("%.1f", float64(h.Size)/(1<<20))
		ms, by, ok := d.initTotal(h.ID)
		if !ok {
			t.add(h.Label, size, "—", "—", "")
			continue
		}
		t.add(h.Label, size, fmtMS(ms), fmt.Sprintf("%.0f", by/1024), d.initTop(h.ID, 4))
	}
	if ms, by, ok := d.initTotal("hello"); ok {
		t.add("Go hello-world", "", fmtMS(ms), fmt.Sprintf("%.0f", by/1024), d.initTop("hello", 3))
	}
	return t
}

// buildsTable compares the builds of this helper on the 1-entry store.
func (d *data) buildsTable() *table {
	t := newTable(1, "build", "size (MiB)", "version (ms)", "get (ms)", "get × floor", "init (ms)", "largest inits (ms)")
	t.align[len(t.align)-1] = "---"
	for _, v := range d.variants {
		name := fmt.Sprintf("variant%d", v.Index)
		get := d.ms(name+".get.1", 1)
		ms, _, _ := d.initTotal(name)
		t.add(v.Name, fmt.Sprintf("%.2f", float64(v.Size)/(1<<20)), fmtMS(d.ms(name+".version.1", 1)),
			fmtMS(get), fmtX(get/d.floor(1)), fmtMS(ms), d.initTop(name, 3))
	}
	return t
}
