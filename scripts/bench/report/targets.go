package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// verdict is what a target's status says.
type verdict int

const (
	notAvailable verdict = iota // the helper or row is not in this run at all
	notMeasured                 // the run stops short of it, or it was never timed
	failed                      // a measurement it needs failed (see Failures)
	met
	missed
	reported // no numeric target
)

func (v verdict) String() string {
	return [...]string{"not available", "not measured", "failed", "met", "missed", "reported"}[v]
}

// target is one line of the targets table: what it asks for, what this run
// measured, and the status with the gap.
type target struct {
	what, measured, status string
	verdict                verdict
}

// The targets, in the order of the table. Issue 8 set the first ones, for
// the helper protocol, mostly as ratios to the floor that hyperfine times
// row after row. Issue 16 replaced those of the file store's and the cached
// exchanges' get, and the memory one, by ratios from one side-by-side run
// (run.sh's sidebyside, with docker-credential-gcr's cached get and the
// hello-world in the same interleaved rounds), since the machine drifts
// between hyperfine's rows by as much as the differences judged; it kept
// issue 8's `store` target. Issue 19 set the kubelet-provider one.
func (d *data) targets() []target {
	gcr := against{"gcr", idGCR, 1.0}
	return []target{
		// Issue 16.
		d.fileGetTarget(1, gcr, 1.8),
		d.fileGetTarget(1000, gcr, 1.8),
		d.fileGetTarget(10000, gcr, 1.8),
		// Issue 8, kept by issue 16.
		d.ratioTarget("file store `store` ≤ 3× the floor at 1,000 entries", idFile, "store", 1000, 3),
		// Issue 8.
		d.keychainTarget(0.7),
		d.listTarget("file store", idFile, 1000, 25),
		d.listTarget("keychain backend", idKeychain, 1000, 25),
		// Issue 16.
		d.cachedGetTarget("token exchange `get` from a valid cached access token", idTokenExchange, gcr),
		d.cachedGetTarget("workload `get` from a valid cached credential", idWorkload, gcr),
		// Issue 8.
		d.workloadTarget(),
		// Issue 19.
		d.kubeletTarget(),
		// Issue 8.
		d.startupTarget(),
		d.sizeTarget(),
		// Issue 16.
		d.getMemoryTarget(2),
	}
}

// unmeasured is the target line for a time that is NaN: failed when a
// measurement or the filling of a store says so, otherwise not measured.
func (d *data) unmeasured(tg target, id, action string, n int) target {
	tg.measured = "—"
	if d.failure(id, action, n) != "" {
		tg.status, tg.verdict = "**failed**: see Failures", failed
	} else {
		tg.status, tg.verdict = "not measured", notMeasured
	}
	return tg
}

func notAvailableTarget(what string) target {
	return target{what: what, measured: "—", status: "not yet available", verdict: notAvailable}
}

func stopsBelow(what string, n int) target {
	return target{what: what, measured: "—", status: fmt.Sprintf("not measured (this run stops below %s entries)", fmtCount(n)), verdict: notMeasured}
}

// ratioTarget checks t(id, action, n) <= limit × floor(n).
func (d *data) ratioTarget(what, id, action string, n int, limit float64) target {
	if d.helper(id) == nil {
		return notAvailableTarget(what)
	}
	if !d.has(n) {
		return stopsBelow(what, n)
	}
	tg := target{what: what}
	t, f := d.t(id, action, n), d.floor(n)
	if math.IsNaN(t) || math.IsNaN(f) {
		return d.unmeasured(tg, id, action, n)
	}
	r := t / f
	tg.measured = fmt.Sprintf("%s ms = %s the floor (%s ms); fastest runs %s", fmtMS(t), fmtX(r), fmtMS(f), fmtX(d.bestRatio(id, action, n)))
	if r <= limit {
		tg.status, tg.verdict = fmt.Sprintf("**met** (%s ms to spare)", fmtMS(limit*f-t)), met
	} else {
		tg.status, tg.verdict = fmt.Sprintf("**missed** by %s ms (%s, target %s)", fmtMS(t-limit*f), fmtX(r), fmtX(limit)), missed
	}
	return tg
}

// keychainTarget checks the keychain's get against secretservice's, at
// every count both have; the worst ratio decides.
func (d *data) keychainTarget(limit float64) target {
	what := fmt.Sprintf("keychain backend `get` ≤ %g× docker-credential-secretservice `get`", limit)
	if d.helper(idKeychain) == nil {
		return notAvailableTarget(what)
	}
	tg := target{what: what}
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
	tg.measured = strings.Join(parts, "; ")
	switch {
	case worstN == 0:
		tg.measured, tg.status, tg.verdict = "—", "not measured", notMeasured
	case worst <= limit:
		tg.status, tg.verdict = "**met**", met
	default:
		tg.status, tg.verdict = fmt.Sprintf("**missed** at %s by %s ms (%s)", entries(worstN),
			fmtMS(d.t(idKeychain, "get", worstN)-limit*d.t(idSecretService, "get", worstN)), fmtX(worst)), missed
	}
	return tg
}

// listTarget checks an absolute time for list at count n.
func (d *data) listTarget(name, id string, n int, limitMS float64) target {
	what := fmt.Sprintf("%s `list` ≤ %g ms at %s entries", name, limitMS, fmtCount(n))
	switch {
	case d.helper(id) == nil:
		return notAvailableTarget(what)
	case !d.has(n):
		return stopsBelow(what, n)
	}
	tg := target{what: what}
	t := d.t(id, "list", n)
	switch {
	case math.IsNaN(t):
		return d.unmeasured(tg, id, "list", n)
	case t <= limitMS:
		tg.status, tg.verdict = fmt.Sprintf("**met** (%s ms to spare)", fmtMS(limitMS-t)), met
	default:
		tg.status, tg.verdict = fmt.Sprintf("**missed** by %s ms", fmtMS(t-limitMS)), missed
	}
	tg.measured = fmt.Sprintf("%s ms", fmtMS(t))
	return tg
}

// workloadTarget compares the cached workload get with the cached
// token-exchange get of the same run.
func (d *data) workloadTarget() target {
	what := "workload `get` from a valid cached credential ≤ the cached token-exchange `get` of the same run (interleaved, when the side-by-side run has both), no network"
	if d.helper(idWorkload) == nil || d.helper(idTokenExchange) == nil {
		return notAvailableTarget(what)
	}
	tg := target{what: what}
	tw, tt, sbs := d.compared(1, idWorkload, "get", idTokenExchange, "get")
	switch {
	case math.IsNaN(tw):
		return d.unmeasured(tg, idWorkload, "get", 1)
	case math.IsNaN(tt):
		return d.unmeasured(tg, idTokenExchange, "get", 1)
	case tw <= tt:
		tg.status, tg.verdict = fmt.Sprintf("**met** (%s ms to spare)", fmtMS(tt-tw)), met
	default:
		tg.status, tg.verdict = fmt.Sprintf("**missed** by %s ms", fmtMS(tw-tt)), missed
	}
	tg.measured = fmt.Sprintf("%s ms against %s ms (%s)%s; the token endpoint is stopped before timing", fmtMS(tw), fmtMS(tt), fmtX(tw/tt), sbsNote(sbs))
	return tg
}

// kubeletTarget compares kubelet-provider's answer with get on the same
// file store at every count of the row: met when kubelet is no slower at
// each count where both were timed, and no count failed.
func (d *data) kubeletTarget() target {
	what := "kubelet-provider answer from the store ≤ `get` of the same store, same run (interleaved, where the side-by-side run has both), at every measured count"
	h := d.helper(idFile)
	if h == nil || !h.has("kubelet") {
		return notAvailableTarget(what)
	}
	tg := target{what: what}
	var parts, misses, fails []string
	spare := math.Inf(1) // the smallest margin of the counts met
	for _, n := range d.counts {
		if n > h.Max {
			break
		}
		k, g, sbs := d.compared(n, idFile, "kubelet", idFile, "get")
		switch {
		case math.IsNaN(k) && d.failure(idFile, "kubelet", n) != "",
			math.IsNaN(g) && d.failure(idFile, "get", n) != "":
			parts = append(parts, fmt.Sprintf("%s: failed", fmtCount(n)))
			fails = append(fails, entries(n))
		case math.IsNaN(k) || math.IsNaN(g):
			// Neither timed nor failed: not part of this run.
		case k <= g:
			parts = append(parts, fmt.Sprintf("%s: %s vs %s ms = %s, %s ms to spare%s", fmtCount(n), fmtMS(k), fmtMS(g), fmtX(k/g), fmtMS(g-k), sbsNote(sbs)))
			spare = min(spare, g-k)
		default:
			parts = append(parts, fmt.Sprintf("%s: %s vs %s ms = %s, %s ms over%s", fmtCount(n), fmtMS(k), fmtMS(g), fmtX(k/g), fmtMS(k-g), sbsNote(sbs)))
			misses = append(misses, fmt.Sprintf("%s by %s ms", entries(n), fmtMS(k-g)))
		}
	}
	tg.measured = strings.Join(parts, "; ")
	var miss string
	if len(misses) > 0 {
		miss = "**missed** at " + strings.Join(misses, ", ")
	}
	switch {
	case tg.missedOrFailed(miss, fails):
		// The status says it.
	case math.IsInf(spare, 1):
		tg.measured, tg.status, tg.verdict = "—", "not measured", notMeasured
	default:
		tg.status, tg.verdict = fmt.Sprintf("**met** at every count (at least %s ms to spare)", fmtMS(spare)), met
	}
	return tg
}

func (h *helperInfo) has(action string) bool { return slices.Contains(h.Actions, action) }

func (d *data) startupTarget() target {
	tg := target{what: "start-up: package init before `main` (`GODEBUG=inittrace=1`), kept small", status: "reported (no numeric target)", verdict: reported}
	if ms, by, ok := d.initTotal("variant0"); ok {
		tg.measured = fmt.Sprintf("%s ms, %.0f KiB allocated, in `get`", fmtMS(ms), by/1024)
		var others []string
		for _, o := range []string{"hello", "gcr", "ecr"} {
			if oms, _, ok := d.initTotal(o); ok {
				others = append(others, fmt.Sprintf("%s %s ms", o, fmtMS(oms)))
			}
		}
		if len(others) > 0 {
			tg.measured += " (" + strings.Join(others, ", ") + ")"
		}
	}
	return tg
}

func (d *data) sizeTarget() target {
	tg := target{what: "binary size reported", status: "reported", verdict: reported}
	if h := d.helper(idFile); h != nil {
		tg.measured = fmt.Sprintf("%.1f MiB (`make build`)", float64(h.Size)/(1<<20))
	}
	return tg
}

// against is a command of the same side-by-side run that a target divides
// a get by, and the largest ratio it allows; a limit of 0 shows the ratio
// without judging it.
type against struct {
	label string // as the measured column names it
	id    string // the helper whose get it is, or sbsHello
	limit float64
}

func (a against) name() string {
	if a.id == sbsHello {
		return sbsHello
	}
	return sbsGet(a.id)
}

// fileGetTarget checks the file store's get at count n against gcr's
// cached get and limitHello × the hello-world, side by side.
func (d *data) fileGetTarget(n int, gcr against, limitHello float64) target {
	what := fmt.Sprintf("file store `get` ≤ %.1f× docker-credential-gcr's cached `get` and ≤ %.1f× the hello-world at %s, side by side",
		gcr.limit, limitHello, entries(n))
	return d.sideBySideTarget(what, idFile, n, gcr, against{"hello", sbsHello, limitHello})
}

// cachedGetTarget checks the get of a helper answering from a cache at 1
// entry against gcr's cached get, side by side; the hello-world's ratio is
// shown beside it.
func (d *data) cachedGetTarget(name, id string, gcr against) target {
	what := fmt.Sprintf("%s ≤ %.1f× docker-credential-gcr's cached `get`, side by side, no network", name, gcr.limit)
	tg := d.sideBySideTarget(what, id, 1, gcr, against{"hello", sbsHello, 0})
	if tg.verdict == met || tg.verdict == missed {
		tg.measured += "; the token endpoint is stopped before timing, so a get that tried the network would fail"
	}
	return tg
}

// sideBySideTarget checks helper id's get at count n against each of refs,
// all from the side-by-side run at n: met when every judged ratio is
// within its limit.
func (d *data) sideBySideTarget(what, id string, n int, refs ...against) target {
	if d.helper(id) == nil {
		return notAvailableTarget(what)
	}
	if !d.has(n) {
		return stopsBelow(what, n)
	}
	tg := target{what: what, measured: "—"}
	if _, ok := d.failed[sbsFailed(n)]; ok {
		tg.status, tg.verdict = "**failed**: see Failures", failed
		return tg
	}
	r, ok := d.sideBySide(n, sbsGet(id))
	if !ok {
		return d.unmeasured(tg, id, "get", n)
	}
	t := r.ms()
	var ratios, misses []string
	spare := math.Inf(1) // the smallest margin of the limits met
	for _, a := range refs {
		o, ok := d.sideBySide(n, a.name())
		if !ok {
			return d.unmeasured(tg, a.id, "get", n)
		}
		ref := o.ms()
		x := t / ref
		ratios = append(ratios, fmt.Sprintf("%s %s (%s ms)", fmtX(x), a.label, fmtMS(ref)))
		switch {
		case a.limit == 0:
			// Shown, not judged.
		case x <= a.limit:
			spare = min(spare, a.limit*ref-t)
		default:
			misses = append(misses, fmt.Sprintf("by %s ms against %s (%s, target %s)", fmtMS(t-a.limit*ref), a.label, fmtX(x), fmtX(a.limit)))
		}
	}
	tg.measured = fmt.Sprintf("%s ms = %s; %d interleaved rounds", fmtMS(t), strings.Join(ratios, ", "), len(r.WallNs))
	if len(misses) > 0 {
		tg.status, tg.verdict = "**missed** "+strings.Join(misses, "; "), missed
	} else {
		tg.status, tg.verdict = fmt.Sprintf("**met** (%s ms to spare)", fmtMS(spare)), met
	}
	return tg
}

// getMemoryTarget checks the peak RSS of the file store's get against
// limit × the hello-world's at every count, as GNU time reports them
// (rss.tsv, medians); the worst count decides, as for kubeletTarget a miss
// before a failure. Not sidebyside's: Go's ForkExec starts the child in
// the parent's memory (CLONE_VM), and the kernel counts the parent's peak
// into the child's, so there a process smaller than sidebyside (the
// hello-world) reads as large as sidebyside.
func (d *data) getMemoryTarget(limit float64) target {
	what := fmt.Sprintf("memory: peak RSS of the file store `get` ≤ %.1f× the hello-world's (GNU time), at every measured count", limit)
	h := d.helper(idFile)
	if h == nil {
		return notAvailableTarget(what)
	}
	tg := target{what: what}
	var parts, fails []string
	worst, worstN, worstOver := 0.0, 0, 0.0
	spare := math.Inf(1) // in KiB, the smallest margin of the counts met
	for _, n := range d.counts {
		if n > h.Max {
			break
		}
		kb, floor := d.rssKiB(benchName(idFile, "get", n)), d.rssKiB(benchName("floor", "withstdin", n))
		switch {
		case math.IsNaN(kb) && d.failure(idFile, "get", n) != "":
			parts = append(parts, fmtCount(n)+": failed")
			fails = append(fails, entries(n))
			continue
		case math.IsNaN(kb) || math.IsNaN(floor) || floor <= 0:
			continue // not part of this run
		}
		r := kb / floor
		parts = append(parts, fmt.Sprintf("%s: %s MiB = %s hello (%s MiB)", fmtCount(n), fmtMiB(kb), fmtX(r), fmtMiB(floor)))
		if r > worst {
			worst, worstN, worstOver = r, n, kb-limit*floor
		}
		if r <= limit {
			spare = min(spare, limit*floor-kb)
		}
	}
	tg.measured = strings.Join(parts, "; ")
	var miss string
	if worst > limit {
		miss = fmt.Sprintf("**missed** at %s by %s MiB (%s, target %s)", entries(worstN), fmtMiB(worstOver), fmtX(worst), fmtX(limit))
	}
	switch {
	case tg.missedOrFailed(miss, fails):
		// The status says it.
	case worstN == 0:
		tg.measured, tg.status, tg.verdict = "—", "not measured", notMeasured
	default:
		tg.status, tg.verdict = fmt.Sprintf("**met** (%s MiB to spare)", fmtMiB(spare)), met
	}
	return tg
}

// sbsNote marks a comparison made from the side-by-side run.
func sbsNote(sideBySide bool) string {
	if sideBySide {
		return " side by side"
	}
	return ""
}

// missedOrFailed sets the status of a target judged at several counts from
// its miss (empty: none) and the counts that failed, a miss before the
// failures, and reports whether there was either.
func (tg *target) missedOrFailed(miss string, fails []string) bool {
	var status []string
	if miss != "" {
		status = append(status, miss)
		tg.verdict = missed
	}
	if len(fails) > 0 {
		status = append(status, fmt.Sprintf("**failed** at %s: see Failures", strings.Join(fails, ", ")))
		if tg.verdict != missed {
			tg.verdict = failed
		}
	}
	tg.status = strings.Join(status, "; ")
	return len(status) > 0
}
