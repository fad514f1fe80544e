package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
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

// mainBench runs benchmarks of the main module's root package and returns
// their results, or an error that says what go test printed.
func mainBench(ctx context.Context, dir, pattern, benchtime string, count int) ([]benchResult, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", pattern,
		"-benchtime", benchtime, "-count", strconv.Itoa(count), ".")
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	rs := parseBench(string(out))
	if err == nil && len(rs) == 0 {
		err = fmt.Errorf("no result")
	}
	if err != nil {
		return nil, fmt.Errorf("go test -bench %s: %w: %s", pattern, err, lastLines(string(out), 8))
	}
	return rs, nil
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

// throughputTargets reads the targets on messages/s and CPU per message
// from the tables' results: one command at a time (the first scenario)
// and pipelined (the second).
func throughputTargets(oneSc scenario, oneAtATime map[string][]result, pipeSc scenario, pipelined map[string][]result) []target {
	ratio := func(results map[string][]result) (rate float64, err error) {
		prog, ok := results["mocksmtp-program"]
		if !ok {
			return 0, fmt.Errorf("mocksmtp-program did not run")
		}
		p := best(prog)
		if !p.ok() {
			return 0, fmt.Errorf("mocksmtp-program did not store every message")
		}
		var ref result
		for _, name := range goPeers {
			if rs := results[name]; len(rs) > 0 {
				if r := best(rs); r.err == nil && r.rate() > ref.rate() {
					ref = r
				}
			}
		}
		if ref.rate() == 0 {
			return 0, fmt.Errorf("no Go peer ran")
		}
		rate = p.rate() / ref.rate()
		return rate, nil
	}
	// cpuRatio is the program's CPU per message over go-smtp-mock's.
	cpuRatio := func(results map[string][]result) (float64, error) {
		rs := results["go-smtp-mock"]
		if len(rs) == 0 {
			return 0, fmt.Errorf("go-smtp-mock did not run")
		}
		m, p := best(rs), best(results["mocksmtp-program"])
		if m.err != nil {
			return 0, fmt.Errorf("go-smtp-mock's run failed: %w", m.err)
		}
		if m.sent == 0 || p.sent == 0 || m.cpu <= 0 {
			return 0, fmt.Errorf("go-smtp-mock's CPU time was not measured")
		}
		return (p.cpu.Seconds() / float64(p.sent)) / (m.cpu.Seconds() / float64(m.sent)), nil
	}
	var ts []target
	for _, l := range []struct {
		results map[string][]result
		name    string
		want    float64
	}{
		{pipelined, fmt.Sprintf("pipelined, %d sessions", pipeSc.sessions), 1.2},
		{oneAtATime, fmt.Sprintf("one command at a time, %d sessions", oneSc.sessions), 1.0},
	} {
		rate, err := ratio(l.results)
		ts = append(ts, target{
			what:     fmt.Sprintf("the program ≥ %.1f× the messages/s of the fastest Go peer, %s", l.want, l.name),
			measured: fmt.Sprintf("%.2f×", rate),
			met:      err == nil && rate >= l.want,
			err:      err,
		})
		cpu := 0.0
		if err == nil {
			cpu, err = cpuRatio(l.results)
		}
		ts = append(ts, target{
			what:     "the program's CPU per message ≤ go-smtp-mock's, " + l.name,
			measured: fmt.Sprintf("%.2f×", cpu),
			met:      err == nil && cpu <= 1,
			err:      err,
		})
	}
	return ts
}

// benchTargets runs the lifecycle and heap benchmarks of the main module
// and reads their targets: every side-by-side run of the lifecycle at
// most 1.0× httptest's time, and every stored message's heap at most
// 1.3× its size.
func benchTargets(ctx context.Context, runs targetRuns) []target {
	lifecycle := target{what: "Start+EHLO+QUIT+Close ≤ 1.0× httptest's, side by side (BenchmarkLifecycle/mocksmtp-vs-httptest)"}
	heap := target{what: "heap per stored 4 KiB message ≤ 1.3× its size, over one session and with a connection per message (BenchmarkStoredMessageHeap)"}
	dir, err := mainModuleDir(ctx)
	if err != nil {
		lifecycle.err, heap.err = err, err
		return []target{lifecycle, heap}
	}

	rs, err := mainBench(ctx, dir, "^BenchmarkLifecycle$/^mocksmtp-vs-httptest$", runs.lifecycle, runs.lifecycleCount)
	if err != nil {
		lifecycle.err = err
	} else {
		var ratios []string
		lifecycle.met = true
		for _, r := range rs {
			v, ok := r.metrics["mocksmtp/httptest"]
			if !ok {
				lifecycle.err = fmt.Errorf("%s reports no mocksmtp/httptest", r.name)
				break
			}
			ratios = append(ratios, fmt.Sprintf("%.3f×", v))
			lifecycle.met = lifecycle.met && v <= 1
		}
		lifecycle.measured = fmt.Sprintf("%s in %d runs of %s", strings.Join(ratios, ", "), len(ratios), runs.lifecycle)
	}

	rs, err = mainBench(ctx, dir, "^BenchmarkStoredMessageHeap$", runs.heap, 1)
	if err != nil {
		heap.err = err
	} else {
		var parts []string
		heap.met = true
		for _, r := range rs {
			v, ok := r.metrics["heap/size"]
			if !ok {
				heap.err = fmt.Errorf("%s reports no heap/size", r.name)
				break
			}
			parts = append(parts, fmt.Sprintf("%.2f× %s", v, strings.TrimPrefix(r.name, "BenchmarkStoredMessageHeap/")))
			heap.met = heap.met && v <= 1.3
		}
		if heap.err == nil && len(parts) != 2 {
			heap.err = fmt.Errorf("want 2 results (one session, a connection per message), got %d", len(parts))
		}
		heap.measured = strings.Join(parts, ", ")
	}
	return []target{lifecycle, heap}
}

// printTargets writes the targets' table.
func printTargets(w io.Writer, ts []target) {
	fmt.Fprintln(w, "\n## Targets\n\n| target | this run | met |\n|---|---|---|")
	for _, t := range ts {
		switch {
		case t.err != nil:
			fmt.Fprintf(w, "| %s | not measured: %v | ✗ |\n", t.what, t.err)
		case t.met:
			fmt.Fprintf(w, "| %s | %s | ✓ |\n", t.what, t.measured)
		default:
			fmt.Fprintf(w, "| %s | %s | ✗ |\n", t.what, t.measured)
		}
	}
	met := !slices.ContainsFunc(ts, func(t target) bool { return !t.met || t.err != nil })
	if met {
		fmt.Fprintln(w, "\nEvery target met in this run.")
	} else {
		fmt.Fprintln(w, "\nNot every target met in this run.")
	}
}
