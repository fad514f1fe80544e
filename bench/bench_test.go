package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mocksmtp/mocksmtp/internal/smtpload"
)

// TestMain lets the test binary become one of the servers, as the harness
// re-executes itself (here: the test binary) to run each server.
func TestMain(m *testing.M) {
	if name := os.Getenv(serverEnv); name != "" {
		if err := serveChild(name); err != nil {
			os.Stderr.WriteString("bench server: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestQuick runs the harness as -quick does: every Go server and the
// program under the Go load generator, with small counts. mocksmtp, as a
// program and as a library, must store every message under every load,
// and every server must have a row in every table.
func TestQuick(t *testing.T) {
	var out, errs bytes.Buffer
	if status := harness([]string{"-quick"}, &out, &errs); status != 0 {
		t.Fatalf("harness exited %d\nstdout:\n%s\nstderr:\n%s", status, &out, &errs)
	}
	tables := strings.Split(out.String(), "\n## ")[1:]
	if len(tables) != 4 {
		t.Fatalf("want 3 tables and the targets, got %d sections:\n%s", len(tables), &out)
	}
	checkTargets(t, tables[3])
	for _, table := range tables[:3] {
		rows := map[string]string{}
		for _, l := range strings.Split(table, "\n") {
			if f := strings.Split(l, "|"); len(f) > 2 && strings.HasPrefix(l, "| ") {
				rows[strings.TrimSpace(f[1])] = l
			}
		}
		for _, name := range []string{"mocksmtp-program", "mocksmtp-library", "go-smtp-mock", "go-smtp"} {
			if rows[name] == "" {
				t.Errorf("no row for %s in:\n%s", name, table)
			}
		}
		for _, name := range []string{"mocksmtp-program", "mocksmtp-library", "go-smtp"} {
			if !strings.HasSuffix(rows[name], "200/200, 0.8 MB ✓ |") {
				t.Errorf("%s must store all 200 messages:\n%s", name, table)
			}
		}
		if !strings.Contains(table, "Fastest Go peer: ") || !strings.Contains(table, "µs |") {
			t.Errorf("no comparison with the fastest Go peer, or no CPU per message:\n%s", table)
		}
	}
	if !strings.Contains(out.String(), "other processes kept") {
		t.Errorf("no note on how busy the machine was:\n%s", &out)
	}
}

// checkTargets checks that every target of the report was measured: the
// smoke run's numbers mean nothing, but each measure must have been taken,
// the main module's benchmarks included.
func checkTargets(t *testing.T, section string) {
	t.Helper()
	rows := 0
	for _, l := range strings.Split(section, "\n") {
		if !strings.HasPrefix(l, "| ") || strings.HasPrefix(l, "| target ") {
			continue
		}
		rows++
		// A tiny run's CPU time may round to nothing: the CPU target
		// then says so.
		if strings.Contains(l, "CPU time was not measured") {
			continue
		}
		if strings.Contains(l, "not measured") {
			t.Errorf("a target not measured: %s", l)
		}
		if !strings.HasSuffix(l, "| ✓ |") && !strings.HasSuffix(l, "| ✗ |") {
			t.Errorf("a target without a verdict: %s", l)
		}
	}
	if rows != 6 {
		t.Errorf("want 6 targets, got %d:\n%s", rows, section)
	}
	for _, want := range []string{"× in 1 run of 20x", "× one-session", "× connection-per-message", "in this run."} {
		if !strings.Contains(section, want) {
			t.Errorf("the targets do not say %q:\n%s", want, section)
		}
	}
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/mocksmtp/mocksmtp
cpu: AMD EPYC
BenchmarkLifecycle/mocksmtp-vs-httptest-2         	    4000	    612345 ns/op	    201234 mocksmtp-ns/op	    0.9812 mocksmtp/httptest
BenchmarkLifecycle/mocksmtp-vs-httptest           	    4000	    612345 ns/op	    1.5 mocksmtp/httptest
BenchmarkStoredMessageHeap/one-session-16         	    2000	      1234 ns/op	      4600 heap-B/msg	     1.123 heap/size
BenchmarkBroken-2 	 4000 	 12 ns/op 	 x unit
BenchmarkOdd-2 	 4000 	 12 ns/op 	 7
--- FAIL: BenchmarkX
PASS
ok  	github.com/mocksmtp/mocksmtp	12.3s
`
	got := parseBench(out)
	want := []benchResult{
		{"BenchmarkLifecycle/mocksmtp-vs-httptest", map[string]float64{"ns/op": 612345, "mocksmtp-ns/op": 201234, "mocksmtp/httptest": 0.9812}},
		{"BenchmarkLifecycle/mocksmtp-vs-httptest", map[string]float64{"ns/op": 612345, "mocksmtp/httptest": 1.5}},
		{"BenchmarkStoredMessageHeap/one-session", map[string]float64{"ns/op": 1234, "heap-B/msg": 4600, "heap/size": 1.123}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].name != want[i].name || fmt.Sprint(got[i].metrics) != fmt.Sprint(want[i].metrics) {
			t.Errorf("result %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestTargetsVerdicts checks the verdicts on made-up results of the two
// loads over one connection per session: the program against the fastest
// Go peer's finished run (1.2× pipelined, 1.0× one command at a time) and
// against go-smtp-mock's CPU per message; what cannot be measured is not
// met.
func TestTargetsVerdicts(t *testing.T) {
	run := func(msgs int64, wall, cpu time.Duration) result {
		return result{sent: msgs, msgs: msgs, octets: -1, wall: wall, cpu: cpu}
	}
	failed := result{sent: 1000, msgs: 10, octets: -1, wall: time.Millisecond, cpu: time.Millisecond, err: errors.New("refused")}
	peers := func(program []result, smtp, mock []result) map[string][]result {
		m := map[string][]result{"mocksmtp-program": program}
		if smtp != nil {
			m["go-smtp"] = smtp
		}
		if mock != nil {
			m["go-smtp-mock"] = mock
		}
		return m
	}
	goSMTP := []result{run(1000, time.Second, time.Second)}
	mock := []result{run(1000, 1100*time.Millisecond, time.Second)}
	for _, c := range []struct {
		name string
		all  map[string][]result
		// pipelined rate, its CPU, one at a time rate, its CPU: met, or
		// not measured (an error naming what is missing)
		want    []bool
		missing string
	}{
		{"ahead", peers([]result{run(1000, 800*time.Millisecond, 900*time.Millisecond)}, goSMTP, mock), []bool{true, true, true, true}, ""},
		{"just", peers([]result{run(1200, time.Second, time.Second)}, goSMTP, mock), []bool{true, true, true, true}, ""},
		{"short", peers([]result{run(1190, time.Second, 1191*time.Millisecond)}, goSMTP, mock), []bool{false, false, true, false}, ""},
		{"lost", peers([]result{{sent: 1000, msgs: 999, octets: -1, wall: time.Second, cpu: time.Second}}, goSMTP, mock), []bool{false, false, false, false}, "no run of mocksmtp-program stored"},
		// A failed round of the fastest peer is no reference, and its
		// inflated rate does not hide its finished round.
		{"a failed round", peers([]result{run(1150, time.Second, time.Second)}, goSMTP, []result{failed, run(1000, 950*time.Millisecond, time.Second)}), []bool{false, true, true, true}, ""},
		{"the fastest peer failed", peers([]result{run(1150, time.Second, time.Second)}, goSMTP, []result{failed}), []bool{false, false, false, false}, "go-smtp-mock has no finished run"},
		{"the fastest peer not run", peers([]result{run(1250, time.Second, time.Second)}, goSMTP, nil), []bool{false, false, false, false}, "go-smtp-mock has no finished run"},
		{"no CPU time", peers([]result{run(1300, time.Second, 0)}, goSMTP, mock), []bool{true, false, true, false}, "the program's CPU time was not measured"},
	} {
		t.Run(c.name, func(t *testing.T) {
			scenarios := []scenario{
				{sessions: 8, messages: 1000, size: 4096, persistent: true},
				{sessions: 32, messages: 1000, size: 4096, persistent: true, pipelined: true},
				{sessions: 8, messages: 1000, size: 4096},
			}
			ts := throughputTargets(scenarios, []map[string][]result{c.all, c.all, nil}, []string{"smtp-source", "Go load generator", "smtp-source"})
			if len(ts) != 4 {
				t.Fatalf("got %d targets, want 4", len(ts))
			}
			for i, tt := range ts {
				if tt.met != c.want[i] {
					t.Errorf("%s: met %v (%s, error %v), want %v", tt.what, tt.met, tt.measured, tt.err, c.want[i])
				}
				if tt.met && tt.err != nil || c.missing == "" && tt.err != nil {
					t.Errorf("%s: error %v", tt.what, tt.err)
				}
			}
			if c.missing != "" && !slices.ContainsFunc(ts, func(tt target) bool { return tt.err != nil && strings.Contains(tt.err.Error(), c.missing) }) {
				t.Errorf("no target says %q: %+v", c.missing, ts)
			}
			if !strings.Contains(ts[0].what, "pipelined, 32 sessions, 4096 octets, Go load generator") ||
				!strings.Contains(ts[2].what, "one command at a time, 8 sessions, 4096 octets, smtp-source") {
				t.Errorf("the targets do not name their loads: %q, %q", ts[0].what, ts[2].what)
			}
		})
	}
}

// TestBenchTargetsVerdicts checks the verdicts on the main module's
// benchmarks: every lifecycle run at most httptest's time, every stored
// message's heap at most 1.3× its size, and every result there.
func TestBenchTargetsVerdicts(t *testing.T) {
	life := func(vs ...float64) []benchResult {
		var rs []benchResult
		for _, v := range vs {
			rs = append(rs, benchResult{lifecycleBench, map[string]float64{"mocksmtp/httptest": v}})
		}
		return rs
	}
	for _, c := range []struct {
		rs       []benchResult
		count    int
		met, err bool
	}{
		{life(0.98, 1.0), 2, true, false},
		{life(0.98, 1.001), 2, false, false},
		{life(0.98), 2, false, true},
		{life(0.98, 0.99, 0.97), 2, false, true},
		{[]benchResult{{lifecycleBench, map[string]float64{"ns/op": 1}}}, 1, false, true},
		{[]benchResult{{"BenchmarkLifecycle/mocksmtp", map[string]float64{"mocksmtp/httptest": 0.5}}}, 1, false, true},
	} {
		got := lifecycleTarget(c.rs, c.count, "4000x", "")
		if got.met && got.err == nil != c.met || (got.err != nil) != c.err {
			t.Errorf("lifecycle %+v of %d: met %v, error %v", c.rs, c.count, got.met, got.err)
		}
	}
	heap := func(one, perConn float64) []benchResult {
		return []benchResult{
			{"BenchmarkStoredMessageHeap/one-session", map[string]float64{"heap/size": one}},
			{"BenchmarkStoredMessageHeap/connection-per-message", map[string]float64{"heap/size": perConn}},
		}
	}
	for _, c := range []struct {
		rs       []benchResult
		met, err bool
	}{
		{heap(1.1, 1.3), true, false},
		{heap(1.1, 1.301), false, false},
		{heap(1.31, 1.2), false, false},
		{heap(1.1, 1.2)[:1], false, true},
		{append(heap(1.1, 1.2), heap(1.1, 1.2)[0]), false, true},
	} {
		got := heapTarget(c.rs, "")
		if got.met && got.err == nil != c.met || (got.err != nil) != c.err {
			t.Errorf("heap %+v: met %v, error %v", c.rs, got.met, got.err)
		}
	}
}

func TestFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{{"-m", "0"}, {"-s", "0"}, {"-ps", "0"}, {"-l", "1"}, {"-rounds", "0"}, {"-peers", "nope"}, {"-load", "nope"}, {"-timeout", "0s"}} {
		var out, errs bytes.Buffer
		if status := harness(args, &out, &errs); status != 2 {
			t.Errorf("%v: status %d, want 2; stderr: %s", args, status, &errs)
		}
	}
}

func TestLoadMessageSize(t *testing.T) {
	for _, size := range []int{16, 100, 4096, 10000} {
		msg := loadMessage(size)
		_, body, ok := strings.Cut(string(msg), "\r\n\r\n")
		if !ok || len(body) != size || !strings.HasSuffix(body, "\r\n") {
			t.Errorf("size %d: body of %d octets", size, len(body))
		}
		for _, l := range strings.Split(body, "\r\n") {
			if strings.HasPrefix(l, ".") {
				t.Errorf("size %d: a line needs dot-stuffing", size)
			}
		}
	}
}

// TestServerThatExitsIsReported checks that a server process that exits
// before it is ready fails its run at once, not at the run's timeout.
func TestServerThatExitsIsReported(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = goPeer{server: "no-such-server", exe: exe}.start(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("start = %v (context: %v), want an error saying the server exited", err, ctx.Err())
	}
}

// BenchmarkLifecycle measures what a test pays for an SMTP server of each
// kind: start it, one session (greeting, EHLO, QUIT), close it. The main
// module's BenchmarkLifecycle compares mocksmtp with httptest, whose
// request is one round trip where an SMTP session is three; here the
// peers speak the same protocol.
func BenchmarkLifecycle(b *testing.B) {
	for _, peer := range []struct {
		name  string
		start func() (goServer, error)
	}{{"mocksmtp", startMocksmtp}, {"go-smtp", startGoSMTP}, {"go-smtp-mock", startSMTPMock}} {
		b.Run(peer.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				srv, err := peer.start()
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				c, err := smtpload.Dial(ctx, srv.addr())
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Quit(); err != nil {
					b.Fatal(err)
				}
				srv.close()
			}
		})
	}
}
