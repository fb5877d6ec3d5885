package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	idGCR           = "gcr"
)

// The names of the commands in run.sh's side-by-side runs: the
// hello-world, and "<helper>.get" for every helper's get (sbsGet).
const sbsHello = "hello"

func sbsGet(id string) string { return id + ".get" }

// actions are the timed commands, in the order of the latency tables: the
// credential helper protocol's, then kubelet's image credential provider
// (`kubelet-provider`, which only this helper has).
var actions = []string{"get", "list", "store", "erase", "kubelet"}

// helperInfo is one row of helpers.tsv: one of run.sh's HELPERS and its
// binary.
type helperInfo struct {
	ID, Label, Driver string
	Max               int // the largest entry count measured
	Actions           []string
	Binary            string
	Size              int64
	Note              string // why Max is where it is
}

// variant is one row of variants.tsv: a build of this helper.
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
	// PageFaultUS is what one fault on fresh anonymous memory cost
	// (scripts/bench/faultcost.c), in µs; empty in older results.
	PageFaultUS string `json:"page_fault_us"`
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

// sbsResult is one command of a side-by-side run, as scripts/bench/sidebyside
// writes it: a sample per round, and their summary.
type sbsResult struct {
	Name        string  `json:"name"`
	WallNs      []int64 `json:"wallNs"`
	MaxRSSKiB   []int64 `json:"maxRssKiB"`
	MinorFaults []int64 `json:"minorFaults"`

	MedianNs          int64 `json:"medianNs"`
	MinNs             int64 `json:"minNs"`
	P10Ns             int64 `json:"p10Ns"`
	MedianMaxRSSKiB   int64 `json:"medianMaxRssKiB"`
	MedianMinorFaults int64 `json:"medianMinorFaults"`
}

// data is one results directory.
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
	gobench  goBench
	// sbs is sidebyside/<count>.json: per count, its commands in the
	// order run.sh gave them. Results directories from before it have none.
	sbs map[int][]sbsResult
	// failed maps a measurement's NAME to why it could not be made;
	// "<helper>.populate.<count>" means the helper's store could not be
	// filled to that count, and nothing was measured from there on.
	failed map[string]string
}

// initLine is one package's init in one run, summed over its init lines.
type initLine struct {
	clockMS float64
	bytes   float64
	allocs  float64
}

// goBench is gobench.txt: the `go test -bench` header (pkg, cpu) and one
// row per benchmark.
type goBench struct {
	head []string
	rows [][]string // name, runs, time/op, B/op, allocs/op
}

func newData(dir string) *data {
	return &data{
		dir:    dir,
		median: map[string]float64{},
		min:    map[string]float64{},
		runs:   map[string]int{},
		rss:    map[string][]float64{},
		inits:  map[string]map[int]map[string]initLine{},
		sbs:    map[int][]sbsResult{},
		failed: map[string]string{},
	}
}

func load(dir string) (*data, error) {
	d := newData(dir)
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
	if len(d.counts) == 0 {
		return nil, errors.New("meta.json: no counts")
	}

	rows, err := readTSV(filepath.Join(dir, "helpers.tsv"))
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		if i == 0 {
			continue // the header
		}
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
		if len(r) < 3 {
			return nil, fmt.Errorf("variants.tsv: short row %q", r)
		}
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
		if len(r) < 2 {
			return nil, fmt.Errorf("rss.tsv: short row %q", r)
		}
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

	d.gobench, err = readGoBench(filepath.Join(dir, "gobench.txt"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}

	// The side-by-side runs, one per count of the run.
	for _, n := range d.counts {
		path := filepath.Join(dir, "sidebyside", strconv.Itoa(n)+".json")
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var rs []sbsResult
		if err := json.Unmarshal(b, &rs); err != nil {
			return nil, fmt.Errorf("%s: not a sidebyside result: %v", path, err)
		}
		for _, r := range rs {
			if len(r.WallNs) == 0 {
				return nil, fmt.Errorf("%s: %q has no samples", path, r.Name)
			}
		}
		d.sbs[n] = rs
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

// readGoBench reads the output of `go test -bench -benchmem`.
func readGoBench(path string) (goBench, error) {
	var gb goBench
	f, err := os.Open(path)
	if err != nil {
		return gb, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		for _, k := range []string{"cpu: ", "pkg: "} {
			if v, ok := strings.CutPrefix(line, k); ok {
				gb.head = append(gb.head, k+"`"+strings.TrimSpace(v)+"`")
			}
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 4 {
			continue
		}
		vals := map[string]string{} // unit -> value
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
		gb.rows = append(gb.rows, []string{name, fs[1], op, orDash(vals["B/op"]), orDash(vals["allocs/op"])})
	}
	return gb, s.Err()
}

func (gb goBench) table() *table {
	if len(gb.rows) == 0 {
		return nil
	}
	t := newTable(1, "benchmark", "runs", "time/op", "B/op", "allocs/op")
	for _, r := range gb.rows {
		t.add(r...)
	}
	return t
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
