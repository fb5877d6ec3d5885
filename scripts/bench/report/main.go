// Command report turns the results of scripts/bench/run.sh into
// BENCHMARKS.md and a gnuplot script for its chart (run.sh runs gnuplot).
//
//	go run ./scripts/bench/report -results DIR -out BENCHMARKS.md -chart docs/bench/latency.png
//
// It reads from DIR: meta.json, helpers.tsv, variants.tsv, one hyperfine
// JSON export per command (NAME.json, NAME being "<helper>.<action>.<count>",
// "floor.direct.<count>", "floor.withstdin.<count>" or "variant<i>.get.1"),
// rss.tsv (NAME, KiB), inittrace.tsv (NAME, run, package, clock ms, bytes,
// allocs) and gobench.txt. It writes the Markdown file, DIR/plot.gp and the
// data files the script plots.
//
// Every helper's time is the hyperfine median minus what run.sh's withstdin
// wrapper adds (the hello-world through it minus the hello-world without
// it, measured at the same entry count), so that it compares with the floor
// as hyperfine compares shell commands after subtracting the shell.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The helper ids that the targets name (see run.sh's HELPERS).
const (
	idFile          = "notation-file"
	idKeychain      = "notation-keychain"
	idTokenExchange = "notation-tokenexchange"
	idWorkload      = "notation-workload"
	idSecretService = "secretservice"
)

var actions = []string{"get", "list", "store", "erase"}

type helperInfo struct {
	ID, Label, Driver string
	Max               int
	Actions           []string
	Binary            string
	Size              int64
	Note              string
}

type variant struct {
	Index int
	Name  string
	Size  int64
}

type meta struct {
	Date       string  `json:"date"`
	Nproc      string  `json:"nproc"`
	CPU        string  `json:"cpu"`
	Kernel     string  `json:"kernel"`
	Arch       string  `json:"arch"`
	Go         string  `json:"go"`
	LoadStart  string  `json:"load_start"`
	LoadEnd    string  `json:"load_end"`
	Hyperfine  string  `json:"hyperfine"`
	GPG        string  `json:"gpg"`
	Pass       string  `json:"pass"`
	Keyring    string  `json:"keyring"`
	Commit     string  `json:"commit"`
	Quick      bool    `json:"quick"`
	Counts     string  `json:"counts"`
	Runs       string  `json:"runs"`
	DurationS  float64 `json:"duration_s"`
	Filesystem string  `json:"filesystem"`
}

// hyperfine's --export-json.
type hfExport struct {
	Results []struct {
		Command string    `json:"command"`
		Median  float64   `json:"median"`
		Min     float64   `json:"min"`
		Times   []float64 `json:"times"`
	} `json:"results"`
}

type data struct {
	dir      string
	meta     meta
	helpers  []helperInfo
	variants []variant
	counts   []int
	median   map[string]float64 // NAME -> seconds, raw
	min      map[string]float64 // NAME -> seconds, raw: the fastest run
	runs     map[string]int
	rss      map[string][]float64 // NAME -> KiB
	inits    map[string]map[int]map[string]initLine
	notes    string // hand-written analysis
	// failed maps a measurement's NAME to why it could not be made;
	// "<helper>.populate.<count>" means the helper's store could not be
	// filled to that count, and nothing was measured from there on.
	failed map[string]string
}

type initLine struct {
	clockMS float64
	bytes   float64
	allocs  float64
}

func main() {
	dir := flag.String("results", "", "results directory written by run.sh")
	out := flag.String("out", "BENCHMARKS.md", "Markdown file to write")
	chart := flag.String("chart", "docs/bench/latency.png", "PNG the gnuplot script draws")
	notes := flag.String("notes", "", "Markdown written by hand, included after the targets (optional)")
	flag.Parse()
	if err := run(*dir, *out, *chart, *notes); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(dir, out, chart, notes string) error {
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
	rel, err := filepath.Rel(filepath.Dir(absOut), absChart)
	if err != nil {
		rel = absChart
	}
	if err := writePlot(d, absChart); err != nil {
		return err
	}
	if notes != "" {
		b, err := os.ReadFile(notes)
		if err != nil {
			return err
		}
		d.notes = strings.TrimSpace(string(b))
	}
	md := d.markdown(filepath.ToSlash(rel))
	return os.WriteFile(out, []byte(md), 0o644)
}

func load(dir string) (*data, error) {
	d := &data{
		dir:    dir,
		median: map[string]float64{},
		min:    map[string]float64{},
		runs:   map[string]int{},
		rss:    map[string][]float64{},
		inits:  map[string]map[int]map[string]initLine{},
		failed: map[string]string{},
	}
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &d.meta); err != nil {
		return nil, fmt.Errorf("meta.json: %v", err)
	}
	for _, f := range strings.Fields(d.meta.Counts) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("meta.json: counts: %v", err)
		}
		d.counts = append(d.counts, n)
	}

	rows, err := readTSV(filepath.Join(dir, "helpers.tsv"))
	if err != nil {
		return nil, err
	}
	for _, r := range rows[1:] { // header
		if len(r) < 8 {
			return nil, fmt.Errorf("helpers.tsv: short row %q", r)
		}
		max, _ := strconv.Atoi(r[3])
		size, _ := strconv.ParseInt(r[6], 10, 64)
		d.helpers = append(d.helpers, helperInfo{r[0], r[1], r[2], max, strings.Fields(r[4]), r[5], size, r[7]})
	}
	rows, err = readTSV(filepath.Join(dir, "variants.tsv"))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		i, _ := strconv.Atoi(r[0])
		size, _ := strconv.ParseInt(r[2], 10, 64)
		d.variants = append(d.variants, variant{i, r[1], size})
	}

	matches, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	for _, m := range matches {
		name := strings.TrimSuffix(filepath.Base(m), ".json")
		if name == "meta" {
			continue
		}
		b, err := os.ReadFile(m)
		if err != nil {
			return nil, err
		}
		var e hfExport
		if err := json.Unmarshal(b, &e); err != nil || len(e.Results) == 0 {
			return nil, fmt.Errorf("%s: not a hyperfine export: %v", m, err)
		}
		d.median[name] = e.Results[0].Median
		d.min[name] = e.Results[0].Min
		d.runs[name] = len(e.Results[0].Times)
	}

	fails, err := filepath.Glob(filepath.Join(dir, "*.failed"))
	if err != nil {
		return nil, err
	}
	for _, f := range fails {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		d.failed[strings.TrimSuffix(filepath.Base(f), ".failed")] = strings.TrimSpace(string(b))
	}

	rows, err = readTSV(filepath.Join(dir, "rss.tsv"))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		kb, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			return nil, fmt.Errorf("rss.tsv: %v", err)
		}
		d.rss[r[0]] = append(d.rss[r[0]], kb)
	}

	rows, err = readTSV(filepath.Join(dir, "inittrace.tsv"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, r := range rows {
		if len(r) < 6 {
			continue
		}
		run, _ := strconv.Atoi(r[1])
		ms, _ := strconv.ParseFloat(r[3], 64)
		by, _ := strconv.ParseFloat(r[4], 64)
		al, _ := strconv.ParseFloat(r[5], 64)
		if d.inits[r[0]] == nil {
			d.inits[r[0]] = map[int]map[string]initLine{}
		}
		if d.inits[r[0]][run] == nil {
			d.inits[r[0]][run] = map[string]initLine{}
		}
		l := d.inits[r[0]][run][r[2]]
		l.clockMS += ms
		l.bytes += by
		l.allocs += al
		d.inits[r[0]][run][r[2]] = l
	}
	return d, nil
}

func readTSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows [][]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if s.Text() == "" {
			continue
		}
		rows = append(rows, strings.Split(s.Text(), "\t"))
	}
	return rows, s.Err()
}

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

// floor is the hello-world's median at count n, in ms.
func (d *data) floor(n int) float64 {
	v, ok := d.median[fmt.Sprintf("floor.direct.%d", n)]
	if !ok {
		return math.NaN()
	}
	return v * 1000
}

// wrapper is what withstdin adds at count n, in ms (never negative).
func (d *data) wrapper(n int) float64 {
	ws, ok1 := d.median[fmt.Sprintf("floor.withstdin.%d", n)]
	direct, ok2 := d.median[fmt.Sprintf("floor.direct.%d", n)]
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

// bestRatio is the ratio to the floor of the fastest runs (each minus the
// wrapper's fastest overhead): what the command costs when nothing else
// disturbs it, which stays meaningful on a busy machine.
func (d *data) bestRatio(id, action string, n int) float64 {
	t, ok1 := d.min[fmt.Sprintf("%s.%s.%d", id, action, n)]
	fd, ok2 := d.min[fmt.Sprintf("floor.direct.%d", n)]
	fw, ok3 := d.min[fmt.Sprintf("floor.withstdin.%d", n)]
	if !ok1 || !ok2 || !ok3 {
		return math.NaN()
	}
	return (t - math.Max(0, fw-fd)) / fd
}

func (d *data) t(id, action string, n int) float64 {
	return d.ms(fmt.Sprintf("%s.%s.%d", id, action, n), n)
}

func (d *data) rssKiB(name string) float64 { return median(d.rss[name]) }

// failure says why helper id's action at count n was not measured, if it
// failed.
func (d *data) failure(id, action string, n int) string {
	if why, ok := d.failed[fmt.Sprintf("%s.%s.%d", id, action, n)]; ok {
		return why
	}
	for _, m := range d.counts {
		if m > n {
			break
		}
		if why, ok := d.failed[fmt.Sprintf("%s.populate.%d", id, m)]; ok {
			return why
		}
	}
	return ""
}

func (d *data) helper(id string) *helperInfo {
	for i := range d.helpers {
		if d.helpers[i].ID == id {
			return &d.helpers[i]
		}
	}
	return nil
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
		for _, l := range pkgs {
			t += l.clockMS
			b += l.bytes
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

func fmtMS(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func fmtX(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case v >= 100:
		return fmt.Sprintf("%.0f×", v)
	case v >= 10:
		return fmt.Sprintf("%.1f×", v)
	default:
		return fmt.Sprintf("%.2f×", v)
	}
}

func fmtMiB(kib float64) string {
	if math.IsNaN(kib) {
		return "—"
	}
	return fmt.Sprintf("%.1f", kib/1024)
}

func fmtCount(n int) string {
	if n >= 1000 {
		return fmt.Sprintf("%d,%03d", n/1000, n%1000)
	}
	return strconv.Itoa(n)
}

// target is one line of the targets table.
type target struct {
	what, measured, status string
}

func (d *data) has(n int) bool { return slices.Contains(d.counts, n) }

// ratioTarget checks t(id, action, n) <= limit × floor(n).
func (d *data) ratioTarget(what, id, action string, n int, limit float64) target {
	tg := target{what: what}
	if d.helper(id) == nil {
		tg.measured, tg.status = "—", "not yet available"
		return tg
	}
	if !d.has(n) {
		tg.measured, tg.status = "—", fmt.Sprintf("not measured (this run stops below %s entries)", fmtCount(n))
		return tg
	}
	t, f := d.t(id, action, n), d.floor(n)
	if math.IsNaN(t) {
		tg.measured, tg.status = "—", "**failed**: see Failures"
		if d.failure(id, action, n) == "" {
			tg.status = "not measured"
		}
		return tg
	}
	r := t / f
	tg.measured = fmt.Sprintf("%s ms = %s the floor (%s ms); fastest runs %s", fmtMS(t), fmtX(r), fmtMS(f), fmtX(d.bestRatio(id, action, n)))
	if r <= limit {
		tg.status = fmt.Sprintf("**met** (%s ms to spare)", fmtMS(limit*f-t))
	} else {
		tg.status = fmt.Sprintf("**missed** by %s ms (%s, target %s)", fmtMS(t-limit*f), fmtX(r), fmtX(limit))
	}
	return tg
}

func (d *data) targets() []target {
	var ts []target
	ts = append(ts,
		d.ratioTarget("file store `get` ≤ 1.3× the floor at 1 entry", idFile, "get", 1, 1.3),
		d.ratioTarget("file store `get` ≤ 1.6× the floor at 1,000 entries", idFile, "get", 1000, 1.6),
		d.ratioTarget("file store `store` ≤ 3× the floor at 1,000 entries", idFile, "store", 1000, 3),
	)

	// Keychain get against secretservice get, at every count both have.
	kc := target{what: "keychain backend `get` ≤ 0.7× docker-credential-secretservice `get`"}
	if d.helper(idKeychain) == nil {
		kc.measured, kc.status = "—", "not yet available (the keychain backend cannot be selected yet; run.sh has its line ready)"
	} else {
		worst, worstN := 0.0, 0
		var parts []string
		for _, n := range d.counts {
			a, b := d.t(idKeychain, "get", n), d.t(idSecretService, "get", n)
			if math.IsNaN(a) || math.IsNaN(b) {
				continue
			}
			r := a / b
			parts = append(parts, fmt.Sprintf("%s: %s vs %s ms = %s", fmtCount(n), fmtMS(a), fmtMS(b), fmtX(r)))
			if r > worst {
				worst, worstN = r, n
			}
		}
		kc.measured = strings.Join(parts, "; ")
		switch {
		case worstN == 0:
			kc.status = "not measured"
		case worst <= 0.7:
			kc.status = "**met**"
		default:
			kc.status = fmt.Sprintf("**missed** at %s entries by %s ms (%s)", fmtCount(worstN),
				fmtMS(d.t(idKeychain, "get", worstN)-0.7*d.t(idSecretService, "get", worstN)), fmtX(worst))
		}
	}
	ts = append(ts, kc)

	for _, b := range []struct{ id, name string }{{idFile, "file store"}, {idKeychain, "keychain backend"}} {
		tg := target{what: fmt.Sprintf("%s `list` ≤ 25 ms at 1,000 entries", b.name)}
		switch {
		case d.helper(b.id) == nil:
			tg.measured, tg.status = "—", "not yet available"
		case !d.has(1000):
			tg.measured, tg.status = "—", "not measured (this run stops below 1,000 entries)"
		default:
			t := d.t(b.id, "list", 1000)
			tg.measured = fmt.Sprintf("%s ms", fmtMS(t))
			if math.IsNaN(t) {
				tg.measured, tg.status = "—", "**failed**: see Failures"
			} else if t <= 25 {
				tg.status = fmt.Sprintf("**met** (%s ms to spare)", fmtMS(25-t))
			} else {
				tg.status = fmt.Sprintf("**missed** by %s ms", fmtMS(t-25))
			}
		}
		ts = append(ts, tg)
	}

	te := d.ratioTarget("token exchange `get` from a valid cached access token ≤ 1.4× the floor, no network", idTokenExchange, "get", 1, 1.4)
	if d.helper(idTokenExchange) == nil {
		te.status = "not yet available (token exchange does not exist yet)"
	} else {
		te.measured += "; the token endpoint is stopped before timing, so a get that tried the network would fail"
	}
	for _, o := range []string{"gcr", "ecr"} {
		if d.helper(o) != nil {
			te.measured += fmt.Sprintf("; %s: %s", o, fmtX(d.t(o, "get", 1)/d.floor(1)))
		}
	}
	te.measured = strings.TrimPrefix(te.measured, "—; ")
	ts = append(ts, te)

	wt := target{what: "workload `get` from a valid cached credential ≤ the cached token-exchange `get` of the same run, no network"}
	switch {
	case d.helper(idWorkload) == nil || d.helper(idTokenExchange) == nil:
		wt.measured, wt.status = "—", "not yet available"
	default:
		tw, tt := d.t(idWorkload, "get", 1), d.t(idTokenExchange, "get", 1)
		switch {
		case math.IsNaN(tw) || math.IsNaN(tt):
			wt.measured, wt.status = "—", "**failed**: see Failures"
		default:
			wt.measured = fmt.Sprintf("%s ms against %s ms (%s); the token endpoint is stopped before timing", fmtMS(tw), fmtMS(tt), fmtX(tw/tt))
			if tw <= tt {
				wt.status = fmt.Sprintf("**met** (%s ms to spare)", fmtMS(tt-tw))
			} else {
				wt.status = fmt.Sprintf("**missed** by %s ms", fmtMS(tw-tt))
			}
		}
	}
	ts = append(ts, wt)

	st := target{what: "start-up: package init before `main` (`GODEBUG=inittrace=1`), kept small", status: "reported (no numeric target)"}
	if ms, by, ok := d.initTotal("variant0"); ok {
		st.measured = fmt.Sprintf("%s ms, %.0f KiB allocated, in `get`", fmtMS(ms), by/1024)
		var others []string
		for _, o := range []string{"hello", "gcr", "ecr"} {
			if oms, _, ok := d.initTotal(o); ok {
				others = append(others, fmt.Sprintf("%s %s ms", o, fmtMS(oms)))
			}
		}
		if len(others) > 0 {
			st.measured += " (" + strings.Join(others, ", ") + ")"
		}
	}
	ts = append(ts, st)

	sz := target{what: "binary size reported", status: "reported"}
	if h := d.helper(idFile); h != nil {
		sz.measured = fmt.Sprintf("%.1f MiB (`make build`)", float64(h.Size)/(1<<20))
	}
	ts = append(ts, sz)

	mem := target{what: "memory: peak RSS of each command ≤ 1.5× the hello-world's at 1,000 entries"}
	if !d.has(1000) {
		mem.measured, mem.status = "—", "not measured (this run stops below 1,000 entries)"
	} else {
		floor := d.rssKiB("floor.withstdin.1000")
		var parts []string
		worst, worstA := 0.0, ""
		for _, a := range actions {
			kb := d.rssKiB(fmt.Sprintf("%s.%s.1000", idFile, a))
			if math.IsNaN(kb) {
				continue
			}
			r := kb / floor
			parts = append(parts, fmt.Sprintf("%s %s MiB (%s)", a, fmtMiB(kb), fmtX(r)))
			if r > worst {
				worst, worstA = r, a
			}
		}
		mem.measured = fmt.Sprintf("file store: %s; hello-world %s MiB", strings.Join(parts, ", "), fmtMiB(floor))
		if worst <= 1.5 {
			mem.status = "**met**"
		} else {
			mem.status = fmt.Sprintf("**missed** by `%s`: %s MiB over (%s)", worstA,
				fmtMiB(d.rssKiB(fmt.Sprintf("%s.%s.1000", idFile, worstA))-1.5*floor), fmtX(worst))
		}
	}
	ts = append(ts, mem)
	return ts
}

func (d *data) markdown(chart string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := d.meta

	p("# Benchmarks\n\n")
	p("What a credential helper costs per call, as docker, notation, oras and the other\n")
	p("clients pay it: a new process for every `get`, `store`, `erase` and `list`.\n")
	p("docker-credential-notation against the helpers people use on Linux today,\n")
	p("with the floor of any Go program (a hello-world) beside them. Reproduce with\n\n")
	p("```sh\nmake bench\n```\n\n")
	p("(`scripts/bench/run.sh`; it installs what it needs and takes about %s here).\n", duration(m.DurationS))
	p("Issue 8 sets the targets. No test asserts a time: these numbers are measured, not enforced.\n\n")
	if m.Quick {
		p("> **Quick mode** (`BENCH_QUICK=1`): few runs and small stores, to check the harness. Not a result.\n\n")
	}
	// The 1-minute load average at the start, and at the end (where the
	// run's own load, about one core, is discounted).
	start, _ := strconv.ParseFloat(strings.Fields(m.LoadStart + " 0")[0], 64)
	end, _ := strconv.ParseFloat(strings.Fields(m.LoadEnd + " 0")[0], 64)
	if np, _ := strconv.Atoi(m.Nproc); np > 0 && (start > 0.75*float64(np) || end-1 > 0.75*float64(np)) {
		p("> **Noisy machine**: the load average was %s at the start and %s at the end on %s cores;\n", m.LoadStart, m.LoadEnd, m.Nproc)
		p("> other jobs shared the CPUs, so the absolute times are high and the ratios less sure than usual.\n\n")
	}

	p("## Targets\n\n")
	p("The floor is the Go hello-world's median at the same entry count; times are medians.\n")
	p("\"Fastest runs\" is the same ratio from the fastest run of each command, which other\n")
	p("load disturbs least: on a busy machine it is the better guide to the helper's own cost.\n\n")
	p("| target | measured | status |\n| --- | --- | --- |\n")
	for _, t := range d.targets() {
		p("| %s | %s | %s |\n", t.what, t.measured, t.status)
	}
	p("\n")

	if d.notes != "" {
		p("%s\n\n", d.notes)
	}

	p("## Latency\n\n")
	p("Median wall time of the whole process in ms, and in brackets its ratio to the\n")
	p("floor measured at the same entry count. — means not measured (see the notes).\n\n")
	p("![get and list latency against the number of stored entries](%s)\n\n", chart)
	for _, a := range actions {
		p("### %s\n\n", a)
		p("| helper |")
		for _, n := range d.counts {
			p(" %s |", fmtCount(n))
		}
		p("\n| --- |%s\n", strings.Repeat(" ---: |", len(d.counts)))
		p("| Go hello-world (floor) |")
		for _, n := range d.counts {
			p(" %s |", fmtMS(d.floor(n)))
		}
		p("\n")
		for _, h := range d.helpers {
			if !slices.Contains(h.Actions, a) {
				continue
			}
			p("| %s |", h.Label)
			for _, n := range d.counts {
				t := d.t(h.ID, a, n)
				if math.IsNaN(t) {
					if d.failure(h.ID, a, n) != "" {
						p(" failed |")
					} else {
						p(" — |")
					}
					continue
				}
				p(" %s (%s) |", fmtMS(t), fmtX(t/d.floor(n)))
			}
			p("\n")
		}
		p("\n")
	}

	if h := d.helper(idFile); h != nil {
		p("### Against this helper\n\n")
		p("Each helper's median divided by docker-credential-notation's (file store) for the\n")
		p("same command and entry count: above 1× it is slower.\n\n")
		var cols []string
		for _, a := range actions {
			for _, n := range d.counts {
				if !math.IsNaN(d.t(idFile, a, n)) {
					cols = append(cols, fmt.Sprintf("%s|%d", a, n))
				}
			}
		}
		p("| helper |")
		for _, c := range cols {
			a, n, _ := strings.Cut(c, "|")
			nn, _ := strconv.Atoi(n)
			p(" %s %s |", a, fmtCount(nn))
		}
		p("\n| --- |%s\n", strings.Repeat(" ---: |", len(cols)))
		for _, o := range d.helpers {
			if o.ID == idFile {
				continue
			}
			p("| %s |", o.Label)
			for _, c := range cols {
				a, n, _ := strings.Cut(c, "|")
				nn, _ := strconv.Atoi(n)
				p(" %s |", fmtX(d.t(o.ID, a, nn)/d.t(idFile, a, nn)))
			}
			p("\n")
		}
		p("\n")
	}

	if len(d.failed) > 0 {
		p("### Failures\n\n")
		p("What could not be measured, and the helper's own words:\n\n")
		names := slices.Sorted(maps.Keys(d.failed))
		for _, n := range names {
			p("- `%s`: %s\n", n, strings.Join(strings.Fields(d.failed[n]), " "))
		}
		p("\n")
	}

	p("## Peak memory\n\n")
	p("Maximum resident set size in MiB (GNU time's `%%M`, median of several runs). For\n")
	p("docker-credential-pass it includes the `pass` and `gpg` processes it runs (the\n")
	p("largest of them); the gpg-agent and gnome-keyring daemons are not counted.\n\n")
	p("| helper | command |")
	for _, n := range d.counts {
		p(" %s |", fmtCount(n))
	}
	p("\n| --- | --- |%s\n", strings.Repeat(" ---: |", len(d.counts)))
	p("| Go hello-world (floor) | |")
	for _, n := range d.counts {
		p(" %s |", fmtMiB(d.rssKiB(fmt.Sprintf("floor.withstdin.%d", n))))
	}
	p("\n")
	for _, h := range d.helpers {
		for _, a := range h.Actions {
			p("| %s | %s |", h.Label, a)
			for _, n := range d.counts {
				p(" %s |", fmtMiB(d.rssKiB(fmt.Sprintf("%s.%s.%d", h.ID, a, n))))
			}
			p("\n")
		}
	}
	p("\n")

	p("## Start-up and size\n\n")
	p("Package initialization before `main`, from `GODEBUG=inittrace=1` on a `get`\n")
	p("(median over runs of the summed `clock` times; the largest packages in ms), and\n")
	p("the binary sizes.\n\n")
	p("| binary | size (MiB) | init (ms) | init allocated (KiB) | largest inits (ms) |\n| --- | ---: | ---: | ---: | --- |\n")
	for _, h := range append([]helperInfo{{ID: "variant0", Label: "docker-credential-notation (`make build`)", Size: d.variantSize(0)}}, d.helpers...) {
		if strings.HasPrefix(h.ID, "notation-") {
			continue // the same binary as variant0
		}
		ms, by, ok := d.initTotal(h.ID)
		if !ok {
			p("| %s | %.1f | — | — | |\n", h.Label, float64(h.Size)/(1<<20))
			continue
		}
		p("| %s | %.1f | %s | %.0f | %s |\n", h.Label, float64(h.Size)/(1<<20), fmtMS(ms), by/1024, d.initTop(h.ID, 4))
	}
	if ms, by, ok := d.initTotal("hello"); ok {
		p("| Go hello-world | | %s | %.0f | %s |\n", fmtMS(ms), by/1024, d.initTop("hello", 3))
	}
	p("\n")

	p("### Builds of this helper\n\n")
	p("The same source built %d ways: `version` (which opens no store: the cost of\n", len(d.variants))
	p("starting this binary) and `get` on the 1-entry store. `make build` is static\n")
	p("(`CGO_ENABLED=0`: no dynamic loader, no libc) and uses the `urfave_cli_no_docs`\n")
	p("tag, which leaves out urfave/cli's Markdown and man-page generator (`docs.go`),\n")
	p("and with it go-md2man and blackfriday, whose package init is costly; `-s -w`\n")
	p("also drops the symbol table and DWARF; a plain `go build` links libc\n")
	p("dynamically (cgo, for net and os/user) and the docs generator.\n\n")
	p("| build | size (MiB) | version (ms) | get (ms) | get × floor | init (ms) | largest inits (ms) |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, v := range d.variants {
		name := fmt.Sprintf("variant%d", v.Index)
		t := d.ms(name+".get.1", 1)
		ms, _, _ := d.initTotal(name)
		p("| %s | %.2f | %s | %s | %s | %s | %s |\n", v.Name, float64(v.Size)/(1<<20), fmtMS(d.ms(name+".version.1", 1)),
			fmtMS(t), fmtX(t/d.floor(1)), fmtMS(ms), d.initTop(name, 3))
	}
	p("\n")

	if gb := d.goBench(); gb != "" {
		p("## In-process (Go benchmarks)\n\n")
		p("`go test -run '^$' -bench . -benchmem ./filestore/`: the store's own work\n")
		p("without process start, on stores of 800-byte secrets (the suffix is the\n")
		p("number of entries).\n\n")
		p("%s\n", gb)
	}

	p("## Machine\n\n")
	p("| | |\n| --- | --- |\n")
	p("| date | %s |\n", m.Date)
	p("| CPU | %s (%s cores, nproc) |\n", m.CPU, m.Nproc)
	p("| kernel | %s %s |\n", m.Kernel, m.Arch)
	p("| Go | %s |\n", strings.TrimPrefix(m.Go, "go version "))
	p("| load average (1, 5, 15 min) | %s at the start, %s at the end |\n", m.LoadStart, m.LoadEnd)
	p("| store filesystem | %s |\n", m.Filesystem)
	p("| tools | %s; %s; pass %s; gnome-keyring %s |\n", m.Hyperfine, m.GPG, m.Pass, strings.TrimPrefix(m.Keyring, "gnome-keyring-daemon: "))
	p("| this helper | %s |\n", m.Commit)
	p("| runs | %s; full run %s |\n", m.Runs, duration(m.DurationS))
	p("\n")

	p("## How it is measured\n\n")
	w := []float64{}
	for _, n := range d.counts {
		w = append(w, d.wrapper(n))
	}
	p("- Every command is timed by hyperfine with `-N` (no shell) after warm-up runs;\n")
	p("  the tables give the median. The payload reaches stdin through `withstdin`, a\n")
	p("  static C program that opens the file and execs the helper (hyperfine 1.15 has\n")
	p("  no `--input`). What it adds, the hello-world through it minus without it\n")
	p("  (median %s ms), is subtracted from every helper's median.\n", fmtMS(median(w)))
	p("- The floor is measured again at each entry count, so drift over the run cancels.\n")
	p("- Every entry has an 800-byte secret (the size of a typical registry token);\n")
	p("  `get` asks for the entry in the middle of the store; `store` adds a new entry\n")
	p("  (hyperfine's `--prepare` erases it before each run: storing unchanged data may\n")
	p("  skip the write) and `erase` removes one (`--prepare` stores it again); `list`\n")
	p("  gets `unused` on stdin, as docker sends.\n")
	p("- Stores are filled fast by `scripts/bench/populate`: the file store in one\n")
	p("  write through age to the identity the helper generated (then one `store` and\n")
	p("  `erase` through the helper leave it as the helper writes it), pass by copying\n")
	p("  an entry docker-credential-pass encrypted, gnome-keyring by D-Bus `CreateItem`\n")
	p("  calls with the attributes docker-credential-secretservice uses, and this\n")
	p("  helper's keychain with one item per secret and one index item, as\n")
	p("  keyring's own benchmark seeds it (then a `store` and an `erase` through the\n")
	p("  helper). Before timing, `get` and `list` are checked to answer with the\n")
	p("  expected entries.\n")
	p("- Every helper that uses a Secret Service has its own gnome-keyring on its own\n")
	p("  D-Bus session bus, so one helper's items never slow another's.\n")
	p("- docker-credential-notation is built as `make build` builds it (`-trimpath`,\n")
	p("  version stamped); the comparison helpers as their releases are (stripped,\n")
	p("  `CGO_ENABLED=0` except the secretservice helper). pass uses a gpg key without\n")
	p("  passphrase (ed25519/cv25519, gpg's `future-default`) with its agent running;\n")
	p("  the Secret Service is gnome-keyring %s, unlocked.\n", strings.TrimPrefix(d.meta.Keyring, "gnome-keyring-daemon: "))
	p("- The ECR and gcr helpers answer `get` from a primed cache of theirs with a fresh\n")
	p("  token (no network): the cost a token-exchanging helper pays at best.\n")
	for _, h := range d.helpers {
		if h.Note != "" {
			if h.Max == 1 {
				p("- %s is measured at 1 entry: %s.\n", h.Label, h.Note)
			} else {
				p("- %s is measured up to %s entries: %s.\n", h.Label, fmtCount(h.Max), h.Note)
			}
		}
	}
	p("- Raw results (hyperfine JSON with every run, RSS, inittrace) stay in the\n")
	p("  cache directory run.sh prints.\n")
	return b.String()
}

func (d *data) variantSize(i int) int64 {
	for _, v := range d.variants {
		if v.Index == i {
			return v.Size
		}
	}
	return 0
}

func duration(s float64) string {
	if s <= 0 {
		return "—"
	}
	m := int(s+30) / 60
	if m < 1 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%d min", m)
}

// goBench turns gobench.txt into a Markdown table.
func (d *data) goBench() string {
	f, err := os.Open(filepath.Join(d.dir, "gobench.txt"))
	if err != nil {
		return ""
	}
	defer f.Close()
	var b strings.Builder
	var head []string
	s := bufio.NewScanner(f)
	rows := 0
	for s.Scan() {
		line := s.Text()
		for _, k := range []string{"cpu: ", "pkg: "} {
			if v, ok := strings.CutPrefix(line, k); ok {
				head = append(head, k+"`"+strings.TrimSpace(v)+"`")
			}
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 4 {
			continue
		}
		if rows == 0 {
			b.WriteString("| benchmark | runs | time/op | B/op | allocs/op |\n| --- | ---: | ---: | ---: | ---: |\n")
		}
		rows++
		vals := map[string]string{}
		for i := 2; i+1 < len(fs); i += 2 {
			vals[fs[i+1]] = fs[i]
		}
		op := "—"
		if ns, err := strconv.ParseFloat(vals["ns/op"], 64); err == nil {
			switch {
			case ns >= 1e6:
				op = fmt.Sprintf("%.2f ms", ns/1e6)
			case ns >= 1e3:
				op = fmt.Sprintf("%.1f µs", ns/1e3)
			default:
				op = fmt.Sprintf("%.0f ns", ns)
			}
		}
		name := fs[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i] // the GOMAXPROCS suffix
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, fs[1], op, orDash(vals["B/op"]), orDash(vals["allocs/op"]))
	}
	if rows == 0 {
		return ""
	}
	if len(head) > 0 {
		return strings.Join(head, ", ") + "\n\n" + b.String()
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

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
