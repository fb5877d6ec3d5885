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

// The targets of issue 8 (the helper protocol) and issue 19 (kubelet's
// image credential provider), in the order of the table.
func (d *data) targets() []target {
	return []target{
		d.ratioTarget("file store `get` ≤ 1.3× the floor at 1 entry", idFile, "get", 1, 1.3),
		d.ratioTarget("file store `get` ≤ 1.6× the floor at 1,000 entries", idFile, "get", 1000, 1.6),
		d.ratioTarget("file store `store` ≤ 3× the floor at 1,000 entries", idFile, "store", 1000, 3),
		d.keychainTarget(0.7),
		d.listTarget("file store", idFile, 1000, 25),
		d.listTarget("keychain backend", idKeychain, 1000, 25),
		d.tokenExchangeTarget(1.4),
		d.workloadTarget(),
		d.kubeletTarget(),
		d.startupTarget(),
		d.sizeTarget(),
		d.memoryTarget(1000, 1.5),
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

// tokenExchangeTarget is a ratio target on the cached token-exchange get,
// with the token-exchanging helpers of the comparison beside it.
func (d *data) tokenExchangeTarget(limit float64) target {
	tg := d.ratioTarget(fmt.Sprintf("token exchange `get` from a valid cached access token ≤ %g× the floor, no network", limit), idTokenExchange, "get", 1, limit)
	if tg.verdict != notAvailable {
		tg.measured += "; the token endpoint is stopped before timing, so a get that tried the network would fail"
	}
	for _, o := range []string{"gcr", "ecr"} {
		if d.helper(o) != nil {
			tg.measured += fmt.Sprintf("; %s: %s", o, fmtX(d.t(o, "get", 1)/d.floor(1)))
		}
	}
	tg.measured = strings.TrimPrefix(tg.measured, "—; ")
	return tg
}

// workloadTarget compares the cached workload get with the cached
// token-exchange get of the same run.
func (d *data) workloadTarget() target {
	what := "workload `get` from a valid cached credential ≤ the cached token-exchange `get` of the same run, no network"
	if d.helper(idWorkload) == nil || d.helper(idTokenExchange) == nil {
		return notAvailableTarget(what)
	}
	tg := target{what: what}
	tw, tt := d.t(idWorkload, "get", 1), d.t(idTokenExchange, "get", 1)
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
	tg.measured = fmt.Sprintf("%s ms against %s ms (%s); the token endpoint is stopped before timing", fmtMS(tw), fmtMS(tt), fmtX(tw/tt))
	return tg
}

// kubeletTarget compares kubelet-provider's answer with get on the same
// file store at every count of the row: met when kubelet is no slower at
// each count where both were timed, and no count failed.
func (d *data) kubeletTarget() target {
	what := "kubelet-provider answer from the store ≤ `get` of the same store, same run, at every measured count"
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
		k, g := d.t(idFile, "kubelet", n), d.t(idFile, "get", n)
		switch {
		case math.IsNaN(k) && d.failure(idFile, "kubelet", n) != "",
			math.IsNaN(g) && d.failure(idFile, "get", n) != "":
			parts = append(parts, fmt.Sprintf("%s: failed", fmtCount(n)))
			fails = append(fails, entries(n))
		case math.IsNaN(k) || math.IsNaN(g):
			// Neither timed nor failed: not part of this run.
		case k <= g:
			parts = append(parts, fmt.Sprintf("%s: %s vs %s ms = %s, %s ms to spare", fmtCount(n), fmtMS(k), fmtMS(g), fmtX(k/g), fmtMS(g-k)))
			spare = min(spare, g-k)
		default:
			parts = append(parts, fmt.Sprintf("%s: %s vs %s ms = %s, %s ms over", fmtCount(n), fmtMS(k), fmtMS(g), fmtX(k/g), fmtMS(k-g)))
			misses = append(misses, fmt.Sprintf("%s by %s ms", entries(n), fmtMS(k-g)))
		}
	}
	tg.measured = strings.Join(parts, "; ")
	var status []string
	if len(misses) > 0 {
		status = append(status, "**missed** at "+strings.Join(misses, ", "))
		tg.verdict = missed
	}
	if len(fails) > 0 {
		status = append(status, fmt.Sprintf("**failed** at %s: see Failures", strings.Join(fails, ", ")))
		if tg.verdict != missed {
			tg.verdict = failed
		}
	}
	switch {
	case len(status) > 0:
		tg.status = strings.Join(status, "; ")
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

// memoryTarget checks the peak RSS of every command of the file store at
// count n against limit × the hello-world's; the worst command decides.
func (d *data) memoryTarget(n int, limit float64) target {
	what := fmt.Sprintf("memory: peak RSS of each command ≤ %g× the hello-world's at %s entries", limit, fmtCount(n))
	if !d.has(n) {
		return stopsBelow(what, n)
	}
	tg := target{what: what}
	floor := d.rssKiB(benchName("floor", "withstdin", n))
	var parts []string
	worst, worstA := 0.0, ""
	for _, a := range actions {
		kb := d.rssKiB(benchName(idFile, a, n))
		if math.IsNaN(kb) {
			continue
		}
		r := kb / floor
		parts = append(parts, fmt.Sprintf("%s %s MiB (%s)", a, fmtMiB(kb), fmtX(r)))
		if r > worst {
			worst, worstA = r, a
		}
	}
	if len(parts) == 0 || math.IsNaN(floor) {
		tg.measured, tg.status, tg.verdict = "—", "not measured", notMeasured
		return tg
	}
	tg.measured = fmt.Sprintf("file store: %s; hello-world %s MiB", strings.Join(parts, ", "), fmtMiB(floor))
	if worst <= limit {
		tg.status, tg.verdict = "**met**", met
	} else {
		tg.status, tg.verdict = fmt.Sprintf("**missed** by `%s`: %s MiB over (%s)", worstA,
			fmtMiB(d.rssKiB(benchName(idFile, worstA, n))-limit*floor), fmtX(worst)), missed
	}
	return tg
}
