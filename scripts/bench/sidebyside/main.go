//go:build unix

// Command sidebyside times whole processes in interleaved rounds: every
// round runs each command once, in an order that rotates from round to
// round, so that a machine whose speed drifts during the run (a shared
// virtual machine does) slows every command alike and the ratios between
// them hold. hyperfine, which run.sh uses for the tables, runs all the runs
// of one command before the next command; its ratios between two rows can
// be off by the drift between them.
//
// Each command is started with fork and exec directly (no shell, no
// os/exec goroutines), its standard input a file, its output discarded,
// and its wall time taken from just before the fork to the return of
// wait4, which also gives its peak RSS and page faults. The peak RSS is at
// least sidebyside's own: ForkExec starts the child in this process's
// memory (CLONE_VM|CLONE_VFORK), and at exec the kernel counts that
// memory's peak into the child's. For a process smaller than this one, ask
// GNU time, which forks from a small process.
//
// Usage:
//
//	sidebyside -rounds N -warmup W -out FILE SPEC
//
// SPEC is a JSON array of commands:
//
//	[{"name": "hello", "argv": ["/path/hello"], "env": ["K=V"], "stdin": "/path/in"}]
//
// env is the whole environment (nothing is inherited); stdin defaults to
// /dev/null. FILE gets, per command, its samples and their summary; a
// command that exits non-zero fails the run, naming it.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"
)

type command struct {
	Name  string   `json:"name"`
	Argv  []string `json:"argv"`
	Env   []string `json:"env"`
	Stdin string   `json:"stdin"`
}

// result is one command's measurements: wall times in nanoseconds, peak
// RSS in KiB and minor page faults, one sample per round.
type result struct {
	Name     string  `json:"name"`
	WallNs   []int64 `json:"wallNs"`
	MaxRSSKB []int64 `json:"maxRssKiB"`
	MinFlt   []int64 `json:"minorFaults"`

	MedianNs  int64 `json:"medianNs"`
	MinNs     int64 `json:"minNs"`
	P10Ns     int64 `json:"p10Ns"`
	MedianRSS int64 `json:"medianMaxRssKiB"`
	MedianFlt int64 `json:"medianMinorFaults"`
}

func main() {
	rounds := flag.Int("rounds", 200, "timed rounds")
	warmup := flag.Int("warmup", 10, "untimed rounds first")
	out := flag.String("out", "", "where to write the JSON results (default stdout)")
	flag.Parse()
	if flag.NArg() != 1 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "usage: sidebyside [-rounds N] [-warmup W] [-out FILE] SPEC")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *rounds, *warmup, *out); err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}

func run(spec string, rounds, warmup int, out string) error {
	b, err := os.ReadFile(spec)
	if err != nil {
		return err
	}
	var cmds []command
	if err := json.Unmarshal(b, &cmds); err != nil {
		return fmt.Errorf("%s: %v", spec, err)
	}
	if len(cmds) == 0 {
		return errors.New(spec + ": no commands")
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	res := make([]result, len(cmds))
	for i, c := range cmds {
		if len(c.Argv) == 0 {
			return fmt.Errorf("%s: command %q has no argv", spec, c.Name)
		}
		res[i].Name = c.Name
	}
	for r := -warmup; r < rounds; r++ {
		for k := range cmds {
			// Rotate the order, so no command always follows the same one.
			i := (k + max(r, 0)) % len(cmds)
			s, err := once(cmds[i], devnull)
			if err != nil {
				return fmt.Errorf("%s: %v", cmds[i].Name, err)
			}
			if r < 0 {
				continue
			}
			res[i].WallNs = append(res[i].WallNs, s.wall.Nanoseconds())
			res[i].MaxRSSKB = append(res[i].MaxRSSKB, s.maxRSS)
			res[i].MinFlt = append(res[i].MinFlt, s.minflt)
		}
	}
	for i := range res {
		res[i].summarize()
	}
	enc, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	enc = append(enc, '\n')
	if out == "" {
		_, err = os.Stdout.Write(enc)
		return err
	}
	return os.WriteFile(out, enc, 0o644)
}

type sample struct {
	wall           time.Duration
	maxRSS, minflt int64
}

func once(c command, devnull *os.File) (sample, error) {
	in := c.Stdin
	if in == "" {
		in = os.DevNull
	}
	f, err := os.Open(in)
	if err != nil {
		return sample{}, err
	}
	defer f.Close()
	attr := &syscall.ProcAttr{
		Env:   c.Env,
		Files: []uintptr{f.Fd(), devnull.Fd(), devnull.Fd()},
	}
	start := time.Now()
	pid, err := syscall.ForkExec(c.Argv[0], c.Argv, attr)
	if err != nil {
		return sample{}, err
	}
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err = syscall.Wait4(pid, &ws, 0, &ru)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	wall := time.Since(start)
	if err != nil {
		return sample{}, err
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return sample{}, fmt.Errorf("%v exited with %v", c.Argv, ws)
	}
	return sample{wall: wall, maxRSS: ru.Maxrss, minflt: ru.Minflt}, nil
}

func (r *result) summarize() {
	w := slices.Clone(r.WallNs)
	slices.Sort(w)
	r.MedianNs = median(w)
	r.MinNs = w[0]
	r.P10Ns = w[len(w)/10]
	r.MedianRSS = median(sorted(r.MaxRSSKB))
	r.MedianFlt = median(sorted(r.MinFlt))
}

func sorted(v []int64) []int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s
}

func median(s []int64) int64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
