package main

import (
	"strings"
	"testing"
)

// fakeRun is a run of the given counts and helpers, with no time measured
// yet: set adds them.
func fakeRun(counts []int, helpers ...helperInfo) *data {
	d := newData("")
	d.counts = counts
	d.helpers = helpers
	return d
}

func helperWith(id string, max int, actions ...string) helperInfo {
	return helperInfo{ID: id, Label: id, Max: max, Actions: actions}
}

// set records NAME's median (and fastest run) in ms, as hyperfine would in
// seconds.
func (d *data) set(name string, ms float64) *data {
	d.median[name] = ms / 1000
	d.min[name] = ms / 1000
	return d
}

func (d *data) fail(name, why string) *data {
	d.failed[name] = why
	return d
}

// check compares a target with the verdict and the parts of its status and
// measured columns that the case cares about.
func check(t *testing.T, tg target, want verdict, status, measured string) {
	t.Helper()
	if tg.verdict != want {
		t.Errorf("verdict = %v, want %v (status %q, measured %q)", tg.verdict, want, tg.status, tg.measured)
	}
	if !strings.Contains(tg.status, status) {
		t.Errorf("status = %q, want it to contain %q", tg.status, status)
	}
	if !strings.Contains(tg.measured, measured) {
		t.Errorf("measured = %q, want it to contain %q", tg.measured, measured)
	}
}

func TestRatioTarget(t *testing.T) {
	file := helperWith(idFile, 10000, "get", "list", "store", "erase")
	withFloor := func() *data {
		return fakeRun([]int{1, 1000}, file).set("floor.direct.1", 6.4).set("floor.direct.1000", 6.4)
	}
	for _, tc := range []struct {
		name             string
		d                *data
		n                int
		want             verdict
		status, measured string
	}{
		{"met", withFloor().set("notation-file.get.1", 8), 1, met, "**met** (0.32 ms to spare)", "8.00 ms = 1.25× the floor (6.40 ms)"},
		{"met at the limit", withFloor().set("notation-file.get.1", 8.32), 1, met, "**met** (0.00 ms to spare)", "1.30×"},
		{"missed", withFloor().set("notation-file.get.1", 16.1), 1, missed, "**missed** by 7.78 ms (2.52×, target 1.30×)", "16.1 ms = 2.52× the floor"},
		{"failed measurement", withFloor().fail("notation-file.get.1", "exit 1"), 1, failed, "**failed**: see Failures", "—"},
		{"store not filled at a lower count", withFloor().fail("notation-file.populate.1", "no space"), 1000, failed, "**failed**", "—"},
		{"store not filled at a higher count", withFloor().fail("notation-file.populate.1000", "no space"), 1, notMeasured, "not measured", "—"},
		{"never timed", withFloor(), 1, notMeasured, "not measured", "—"},
		{"no floor", fakeRun([]int{1}, file).set("notation-file.get.1", 8), 1, notMeasured, "not measured", "—"},
		{"count not in the run", withFloor(), 10000, notMeasured, "not measured (this run stops below 10,000 entries)", "—"},
		{"helper not in the run", fakeRun([]int{1}).set("floor.direct.1", 6.4), 1, notAvailable, "not yet available", "—"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, tc.d.ratioTarget("get", idFile, "get", tc.n, 1.3), tc.want, tc.status, tc.measured)
		})
	}
}

// The wrapper's own time (hello-world through withstdin minus without it)
// comes off every helper's median, and the fastest runs' ratio uses the
// fastest runs.
func TestRatioTargetSubtractsWrapper(t *testing.T) {
	d := fakeRun([]int{1}, helperWith(idFile, 1, "get")).
		set("floor.direct.1", 6).set("floor.withstdin.1", 7.5).set("notation-file.get.1", 9.3)
	d.min["notation-file.get.1"] = 0.0075 // 7.5 - 1.5 = 6 ms: the floor's own 6 ms
	check(t, d.ratioTarget("get", idFile, "get", 1, 1.3), met, "**met** (0.00 ms to spare)", "7.80 ms = 1.30× the floor (6.00 ms); fastest runs 1.00×")
}

func TestKeychainTarget(t *testing.T) {
	run := func() *data {
		return fakeRun([]int{1, 100, 1000},
			helperWith(idKeychain, 1000, "get"), helperWith(idSecretService, 1000, "get"))
	}
	for _, tc := range []struct {
		name             string
		d                *data
		want             verdict
		status, measured string
	}{
		{"met at every count", run().
			set("notation-keychain.get.1", 21.4).set("secretservice.get.1", 30.8).
			set("notation-keychain.get.1000", 24.8).set("secretservice.get.1000", 43.5),
			met, "**met**", "1: 21.4 vs 30.8 ms = 0.69×; 1,000: 24.8 vs 43.5 ms = 0.57×"},
		{"the worst count decides", run().
			set("notation-keychain.get.1", 20).set("secretservice.get.1", 40).
			set("notation-keychain.get.100", 30).set("secretservice.get.100", 40),
			missed, "**missed** at 100 entries by 2.00 ms (0.75×)", "100: 30.0 vs 40.0 ms = 0.75×"},
		{"met at the limit", run().set("notation-keychain.get.1", 28).set("secretservice.get.1", 40),
			met, "**met**", "1: 28.0 vs 40.0 ms = 0.70×"},
		{"missed at 1 entry", run().set("notation-keychain.get.1", 30).set("secretservice.get.1", 30),
			missed, "**missed** at 1 entry by 9.00 ms (1.00×)", "1: 30.0 vs 30.0 ms"},
		{"no count with both", run().set("notation-keychain.get.1", 20).set("secretservice.get.100", 40),
			notMeasured, "not measured", "—"},
		{"keychain not in the run", fakeRun([]int{1}, helperWith(idSecretService, 1, "get")).set("secretservice.get.1", 30),
			notAvailable, "not yet available", "—"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := tc.d.keychainTarget(0.7)
			check(t, tg, tc.want, tc.status, tc.measured)
			if strings.Contains(tg.status, "yet;") || strings.Contains(tg.status, "run.sh") {
				t.Errorf("status %q carries a stale explanation", tg.status)
			}
		})
	}
}

func TestListTarget(t *testing.T) {
	run := func() *data { return fakeRun([]int{1, 1000}, helperWith(idFile, 1000, "list")) }
	for _, tc := range []struct {
		name             string
		d                *data
		want             verdict
		status, measured string
	}{
		{"met", run().set("notation-file.list.1000", 24.86), met, "**met** (0.14 ms to spare)", "24.9 ms"},
		{"met at the limit", run().set("notation-file.list.1000", 25), met, "**met** (0.00 ms to spare)", "25.0 ms"},
		{"missed", run().set("notation-file.list.1000", 30.06), missed, "**missed** by 5.06 ms", "30.1 ms"},
		{"failed", run().fail("notation-file.list.1000", "exit 1"), failed, "**failed**: see Failures", "—"},
		{"never timed", run(), notMeasured, "not measured", "—"},
		{"count not in the run", fakeRun([]int{1, 100}, helperWith(idFile, 1000, "list")), notMeasured, "this run stops below 1,000 entries", "—"},
		{"helper not in the run", fakeRun([]int{1000}), notAvailable, "not yet available", "—"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, tc.d.listTarget("file store", idFile, 1000, 25), tc.want, tc.status, tc.measured)
		})
	}
}

func TestTokenExchangeTarget(t *testing.T) {
	d := fakeRun([]int{1}, helperWith("gcr", 1, "get")).set("floor.direct.1", 6.4).set("gcr.get.1", 12.48)
	tg := d.tokenExchangeTarget(1.4)
	check(t, tg, notAvailable, "not yet available", "gcr: 1.95×")
	if tg.measured != "gcr: 1.95×" {
		t.Errorf("measured = %q, want the comparison helpers only", tg.measured)
	}

	d.helpers = append(d.helpers, helperWith(idTokenExchange, 1, "get"))
	d.set("notation-tokenexchange.get.1", 16.1)
	check(t, d.tokenExchangeTarget(1.4), missed, "**missed** by 7.14 ms", "the token endpoint is stopped before timing, so a get that tried the network would fail; gcr: 1.95×")
}

func TestWorkloadTarget(t *testing.T) {
	run := func() *data {
		return fakeRun([]int{1}, helperWith(idTokenExchange, 1, "get"), helperWith(idWorkload, 1, "get"))
	}
	for _, tc := range []struct {
		name             string
		d                *data
		want             verdict
		status, measured string
	}{
		{"met", run().set("notation-workload.get.1", 15).set("notation-tokenexchange.get.1", 16), met, "**met** (1.00 ms to spare)", "15.0 ms against 16.0 ms (0.94×)"},
		{"met when equal", run().set("notation-workload.get.1", 16).set("notation-tokenexchange.get.1", 16), met, "**met** (0.00 ms to spare)", "(1.00×)"},
		{"missed", run().set("notation-workload.get.1", 17).set("notation-tokenexchange.get.1", 16), missed, "**missed** by 1.00 ms", "17.0 ms against 16.0 ms (1.06×)"},
		{"workload failed", run().set("notation-tokenexchange.get.1", 16).fail("notation-workload.populate.1", "no token"), failed, "**failed**", "—"},
		{"token exchange failed", run().set("notation-workload.get.1", 15).fail("notation-tokenexchange.get.1", "exit 1"), failed, "**failed**", "—"},
		{"never timed", run(), notMeasured, "not measured", "—"},
		{"workload not in the run", fakeRun([]int{1}, helperWith(idTokenExchange, 1, "get")), notAvailable, "not yet available", "—"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, tc.d.workloadTarget(), tc.want, tc.status, tc.measured)
		})
	}
}

func TestKubeletTarget(t *testing.T) {
	run := func() *data {
		return fakeRun([]int{1, 100, 1000}, helperWith(idFile, 100, "get", "kubelet"))
	}
	for _, tc := range []struct {
		name             string
		d                *data
		want             verdict
		status, measured string
	}{
		{"met at every count", run().
			set("notation-file.get.1", 16.1).set("notation-file.kubelet.1", 15.9).
			set("notation-file.get.100", 16.0).set("notation-file.kubelet.100", 16.0),
			met, "**met** at every count (at least 0.00 ms to spare)",
			"1: 15.9 vs 16.1 ms = 0.99×, 0.20 ms to spare; 100: 16.0 vs 16.0 ms = 1.00×, 0.00 ms to spare"},
		{"missed at one count", run().
			set("notation-file.get.1", 16).set("notation-file.kubelet.1", 15).
			set("notation-file.get.100", 16).set("notation-file.kubelet.100", 18.5),
			missed, "**missed** at 100 entries by 2.50 ms", "1: 15.0 vs 16.0 ms = 0.94×, 1.00 ms to spare; 100: 18.5 vs 16.0 ms = 1.16×, 2.50 ms over"},
		{"missed at every count", run().
			set("notation-file.get.1", 16).set("notation-file.kubelet.1", 17).
			set("notation-file.get.100", 16).set("notation-file.kubelet.100", 18),
			missed, "**missed** at 1 entry by 1.00 ms, 100 entries by 2.00 ms", "1: 17.0 vs 16.0 ms"},
		{"failed at one count", run().
			set("notation-file.get.1", 16).set("notation-file.kubelet.1", 15).
			set("notation-file.get.100", 16).fail("notation-file.kubelet.100", "empty auth"),
			failed, "**failed** at 100 entries: see Failures", "1: 15.0 vs 16.0 ms = 0.94×, 1.00 ms to spare; 100: failed"},
		{"missed and failed", run().
			set("notation-file.get.1", 16).set("notation-file.kubelet.1", 17).
			fail("notation-file.populate.100", "no space"),
			missed, "**missed** at 1 entry by 1.00 ms; **failed** at 100 entries: see Failures", "100: failed"},
		{"get failed", run().set("notation-file.kubelet.1", 15).fail("notation-file.get.1", "exit 1"),
			failed, "**failed** at 1 entry", "1: failed"},
		{"never timed", run(), notMeasured, "not measured", "—"},
		{"no kubelet row", fakeRun([]int{1}, helperWith(idFile, 1, "get")).set("notation-file.get.1", 16),
			notAvailable, "not yet available", "—"},
		{"no file store row", fakeRun([]int{1}), notAvailable, "not yet available", "—"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check(t, tc.d.kubeletTarget(), tc.want, tc.status, tc.measured)
		})
	}
	// Counts above the row's largest are not the row's: nothing about 1,000.
	if tg := run().set("notation-file.get.1", 16).set("notation-file.kubelet.1", 15).kubeletTarget(); strings.Contains(tg.measured+tg.status, "1,000") {
		t.Errorf("target mentions a count the row does not measure: %+v", tg)
	}
}

func TestMemoryTarget(t *testing.T) {
	run := func() *data {
		d := fakeRun([]int{1, 1000}, helperWith(idFile, 1000, "get", "store", "kubelet"))
		d.rss["floor.withstdin.1000"] = []float64{2000, 2048, 2100}
		return d
	}
	for _, tc := range []struct {
		name             string
		rss              map[string][]float64
		want             verdict
		status, measured string
	}{
		{"met", map[string][]float64{"notation-file.get.1000": {3000}, "notation-file.store.1000": {3072}},
			met, "**met**", "file store: get 2.9 MiB (1.46×), store 3.0 MiB (1.50×); hello-world 2.0 MiB"},
		{"the worst command decides", map[string][]float64{"notation-file.get.1000": {3000}, "notation-file.kubelet.1000": {8192, 9216, 10240}},
			missed, "**missed** by `kubelet`: 6.0 MiB over (4.50×)", "kubelet 9.0 MiB (4.50×)"},
		{"no command measured", nil, notMeasured, "not measured", "—"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := run()
			for k, v := range tc.rss {
				d.rss[k] = v
			}
			check(t, d.memoryTarget(1000, 1.5), tc.want, tc.status, tc.measured)
		})
	}
	t.Run("no floor", func(t *testing.T) {
		d := fakeRun([]int{1000}, helperWith(idFile, 1000, "get"))
		d.rss["notation-file.get.1000"] = []float64{3000}
		check(t, d.memoryTarget(1000, 1.5), notMeasured, "not measured", "—")
	})
	t.Run("count not in the run", func(t *testing.T) {
		check(t, fakeRun([]int{1}).memoryTarget(1000, 1.5), notMeasured, "this run stops below 1,000 entries", "—")
	})
}

// Every target of a run with no helper at all says so, rather than met.
func TestTargetsOfAnEmptyRun(t *testing.T) {
	for _, tg := range fakeRun([]int{1, 1000}).targets() {
		if tg.verdict == met || tg.verdict == missed || tg.verdict == failed {
			t.Errorf("%s: %v (%s) in a run that measured nothing", tg.what, tg.verdict, tg.status)
		}
	}
}

// The init total of a run is the same float however the map of its
// packages is ordered (the report once showed 0.18 or 0.19 ms by chance).
func TestInitTotalIsDeterministic(t *testing.T) {
	d := fakeRun([]int{1})
	pkgs := map[string]initLine{}
	for i, ms := range []float64{0.1, 0.2, 0.3, 0.07, 0.011, 0.13, 0.029, 0.31, 0.005, 0.17} {
		pkgs["pkg"+string(rune('a'+i))] = initLine{clockMS: ms, bytes: ms * 1000}
	}
	d.inits["hello"] = map[int]map[string]initLine{1: pkgs}
	first, _, _ := d.initTotal("hello")
	for range 200 {
		if ms, _, _ := d.initTotal("hello"); ms != first {
			t.Fatalf("initTotal = %v, then %v", first, ms)
		}
	}
}
