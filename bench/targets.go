package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The targets of the recorder's work (issue 14), checked in the same run
// as the tables: the program's messages/s and CPU per message against the
// Go peers (from the tables), and two measures the main module's
// benchmarks take, run here by go test so that they meet the same machine:
// a server's lifecycle against httptest's, side by side in each op
// (BenchmarkLifecycle/mocksmtp-vs-httptest), and the heap a stored 4 KiB
// message costs (BenchmarkStoredMessageHeap).

// benchResult is one result line of go test -bench: the benchmark's name
// without its -GOMAXPROCS suffix, and its metrics by unit.
type benchResult struct {
	name    string
	metrics map[string]float64
}

// parseBench reads go test -bench output. A result line is the name, the
// number of ops, then value-unit pairs.
func parseBench(out string) []benchResult {
	var rs []benchResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		r := benchResult{name: f[0], metrics: map[string]float64{}}
		if i := strings.LastIndexByte(r.name, '-'); i > 0 {
			if _, err := strconv.Atoi(r.name[i+1:]); err == nil {
				r.name = r.name[:i]
			}
		}
		ok := true
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				ok = false
				break
			}
			r.metrics[f[i+1]] = v
		}
		if ok {
			rs = append(rs, r)
		}
	}
	return rs
}

// mainModuleDir is where the mocksmtp module's source is (the replace
// directive of this module's go.mod: the repository's root).
func mainModuleDir(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/mocksmtp/mocksmtp").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m github.com/mocksmtp/mocksmtp: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// targetRuns says how the main module's benchmarks run: the full run's
// counts, or a smoke run's, which take the same path in a few seconds but
// whose numbers mean nothing.
type targetRuns struct {
	lifecycle      string // -benchtime of the side-by-side lifecycle
	lifecycleCount int
	heap           string // -benchtime of the stored message's heap
}

var (
	fullTargetRuns  = targetRuns{lifecycle: "4000x", lifecycleCount: 2, heap: "2000x"}
	quickTargetRuns = targetRuns{lifecycle: "20x", lifecycleCount: 1, heap: "50x"}
)

// benchBinary builds the main module's test binary into dir.
func benchBinary(ctx context.Context, module, dir string) (string, error) {
	path := filepath.Join(dir, "mocksmtp.test")
	cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", path, ".")
	cmd.Dir = module
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go test -c: %w: %s", err, lastLines(string(out), 8))
	}
	return path, nil
}

// mainBench runs the benchmarks of the main module's test binary that
// pattern names and returns their results. It runs the binary itself, not
// go test, so that the results on its standard output are apart from what
// it logs, and so that the binary is what ends at the deadline: -timeout
// makes it end itself a little before, the context kills it at it.
func mainBench(ctx context.Context, binary, module, pattern, benchtime string, count int) ([]benchResult, string, error) {
	args := []string{"-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime, "-test.count", strconv.Itoa(count)}
	if d, ok := ctx.Deadline(); ok {
		args = append(args, "-test.timeout", max(time.Until(d)-10*time.Second, time.Second).String())
	}
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = module
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return nil, "", fmt.Errorf("-test.bench %s: %w: %s", pattern, err, lastLines(stdout.String()+stderr.String(), 8))
	}
	return parseBench(stdout.String()), stderr.String(), nil
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, " / ")
}

// target is one line of the report: what is wanted, what this run
// measured, and whether that meets it.
type target struct {
	what, measured string
	met            bool
	err            error // the measure could not be taken
}

// finished is the runs of rs that ended without an error.
func finished(rs []result) []result {
	var out []result
	for _, r := range rs {
		if r.err == nil && r.wall > 0 {
			out = append(out, r)
		}
	}
	return out
}

// fastestGoPeer is the fastest finished run of the Go peers, the
// reference of the tables and the targets: a failed run is none, whatever
// rate its short time gives it. go-smtp-mock keeps one message per session
// over one connection but answers them all: its rate counts.
func fastestGoPeer(results map[string][]result) (result, string) {
	var ref result
	refName := ""
	for _, name := range goPeers {
		if rs := finished(results[name]); len(rs) > 0 {
			if r := best(rs); r.rate() > ref.rate() {
				ref, refName = r, name
			}
		}
	}
	return ref, refName
}

// throughputTargets reads the targets on messages/s and CPU per message
// from the results of the loads one command at a time and pipelined,
// over one connection per session: the program against the fastest Go
// peer's messages/s, and against go-smtp-mock's CPU per message. Each Go
// peer must have finished a run (a failed run of one is not a reference);
// go-smtp-mock's runs count although it keeps one message per session.
func throughputTargets(scenarios []scenario, all []map[string][]result, loads []string) []target {
	var ts []target
	for _, pipelined := range []bool{true, false} {
		i := slices.IndexFunc(scenarios, func(sc scenario) bool { return sc.persistent && sc.pipelined == pipelined })
		if i < 0 {
			continue
		}
		sc, results := scenarios[i], all[i]
		want, how := 1.0, "one command at a time"
		if pipelined {
			want, how = 1.2, "pipelined"
		}
		name := fmt.Sprintf("%s, %d sessions, %d octets, %s", how, sc.sessions, sc.size, loads[i])
		rate := target{what: fmt.Sprintf("the program ≥ %.1f× the messages/s of the fastest Go peer, %s", want, name)}
		cpu := target{what: "the program's CPU per message ≤ go-smtp-mock's, " + name}
		ts = append(ts, rateTarget(rate, results, want), cpuTarget(cpu, results))
	}
	return ts
}

// program is the program's fastest finished run that stored everything.
func program(results map[string][]result) (result, error) {
	var ok []result
	for _, r := range finished(results["mocksmtp-program"]) {
		if r.ok() {
			ok = append(ok, r)
		}
	}
	switch {
	case len(results["mocksmtp-program"]) == 0:
		return result{}, fmt.Errorf("mocksmtp-program did not run")
	case len(ok) == 0:
		return result{}, fmt.Errorf("no run of mocksmtp-program stored every message")
	}
	return best(ok), nil
}

func rateTarget(t target, results map[string][]result, want float64) target {
	p, err := program(results)
	if err != nil {
		t.err = err
		return t
	}
	for _, name := range goPeers {
		if len(finished(results[name])) == 0 {
			t.err = fmt.Errorf("%s has no finished run to compare with", name)
			return t
		}
	}
	ref, refName := fastestGoPeer(results)
	v := p.rate() / ref.rate()
	t.measured = fmt.Sprintf("%.3f× (%s)", v, refName)
	t.met = v >= want
	return t
}

func cpuTarget(t target, results map[string][]result) target {
	p, err := program(results)
	if err != nil {
		t.err = err
		return t
	}
	rs := finished(results["go-smtp-mock"])
	if len(rs) == 0 {
		t.err = fmt.Errorf("go-smtp-mock has no finished run to compare with")
		return t
	}
	m := best(rs)
	switch {
	case p.cpu <= 0:
		t.err = fmt.Errorf("the program's CPU time was not measured")
	case m.cpu <= 0:
		t.err = fmt.Errorf("go-smtp-mock's CPU time was not measured")
	default:
		v := (p.cpu.Seconds() / float64(p.sent)) / (m.cpu.Seconds() / float64(m.sent))
		t.measured = fmt.Sprintf("%.3f×", v)
		t.met = v <= 1
	}
	return t
}

const (
	lifecycleBench = "BenchmarkLifecycle/mocksmtp-vs-httptest"
	lifecycleWhat  = "Start+EHLO+QUIT+Close ≤ 1.0× httptest's, side by side (" + lifecycleBench + ")"
	heapWhat       = "heap per stored 4 KiB message ≤ 1.3× its size, over one session and with a connection per message (BenchmarkStoredMessageHeap)"
)

// benchTargets runs the lifecycle and heap benchmarks of the main module
// (its test binary built into dir) and reads their targets.
func benchTargets(ctx context.Context, dir string, runs targetRuns) []target {
	lifecycle, heap := target{what: lifecycleWhat}, target{what: heapWhat}
	module, err := mainModuleDir(ctx)
	var binary string
	if err == nil {
		binary, err = benchBinary(ctx, module, dir)
	}
	if err != nil {
		lifecycle.err, heap.err = err, err
		return []target{lifecycle, heap}
	}
	rs, logged, err := mainBench(ctx, binary, module, "^BenchmarkLifecycle$/^mocksmtp-vs-httptest$", runs.lifecycle, runs.lifecycleCount)
	if err != nil {
		lifecycle.err = err
	} else {
		lifecycle = lifecycleTarget(rs, runs.lifecycleCount, runs.lifecycle, logged)
	}
	rs, logged, err = mainBench(ctx, binary, module, "^BenchmarkStoredMessageHeap$", runs.heap, 1)
	if err != nil {
		heap.err = err
	} else {
		heap = heapTarget(rs, logged)
	}
	return []target{lifecycle, heap}
}

// lifecycleTarget is met when each of the count runs took at most
// httptest's time.
func lifecycleTarget(rs []benchResult, count int, benchtime, logged string) target {
	t := target{what: lifecycleWhat, met: true}
	var ratios []string
	for _, r := range rs {
		v, ok := r.metrics["mocksmtp/httptest"]
		if r.name != lifecycleBench || !ok {
			t.err = fmt.Errorf("%s reports no mocksmtp/httptest", r.name)
			return t
		}
		ratios = append(ratios, fmt.Sprintf("%.3f×", v))
		t.met = t.met && v <= 1
	}
	if len(rs) != count {
		t.err = fmt.Errorf("want %d results, got %d; the benchmark logged: %s", count, len(rs), lastLines(logged, 4))
		return t
	}
	runs := "runs"
	if count == 1 {
		runs = "run"
	}
	t.measured = fmt.Sprintf("%s in %d %s of %s", strings.Join(ratios, ", "), count, runs, benchtime)
	return t
}

// heapTarget is met when a stored message's heap is at most 1.3× its
// size over one session and with a connection per message.
func heapTarget(rs []benchResult, logged string) target {
	t := target{what: heapWhat, met: true}
	var parts []string
	seen := map[string]bool{}
	for _, r := range rs {
		v, ok := r.metrics["heap/size"]
		sub := strings.TrimPrefix(r.name, "BenchmarkStoredMessageHeap/")
		if (sub != "one-session" && sub != "connection-per-message") || !ok || seen[sub] {
			t.err = fmt.Errorf("unexpected result %s", r.name)
			return t
		}
		seen[sub] = true
		parts = append(parts, fmt.Sprintf("%.3f× %s", v, sub))
		t.met = t.met && v <= 1.3
	}
	if len(seen) != 2 {
		t.err = fmt.Errorf("want 2 results (one session, a connection per message), got %d; the benchmark logged: %s", len(seen), lastLines(logged, 4))
		return t
	}
	t.measured = strings.Join(parts, ", ")
	return t
}

// printTargets writes the targets' table.
func printTargets(w io.Writer, ts []target) {
	fmt.Fprintln(w, "\n## Targets\n\n| target | this run | met |\n|---|---|---|")
	cell := strings.NewReplacer("|", "\\|", "\n", " ").Replace
	for _, t := range ts {
		switch {
		case t.err != nil:
			fmt.Fprintf(w, "| %s | not measured: %s | ✗ |\n", t.what, cell(t.err.Error()))
		case t.met:
			fmt.Fprintf(w, "| %s | %s | ✓ |\n", t.what, cell(t.measured))
		default:
			fmt.Fprintf(w, "| %s | %s | ✗ |\n", t.what, cell(t.measured))
		}
	}
	met := !slices.ContainsFunc(ts, func(t target) bool { return !t.met || t.err != nil })
	if met {
		fmt.Fprintln(w, "\nEvery target met in this run.")
	} else {
		fmt.Fprintln(w, "\nNot every target met in this run.")
	}
}
