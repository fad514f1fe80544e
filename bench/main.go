// Command bench compares mocksmtp, as the program load tests run and as
// the library Go tests start, with the SMTP servers Go tests use in its
// place, and with Postfix's smtp-sink, under the same loads, and prints
// the results as Markdown tables: messages per second and their ratio to
// the fastest Go peer, and the server's CPU time per message.
//
//	cd bench && go run .           # the full comparison (a few minutes)
//	cd bench && go run . -quick    # a smoke run of some ten seconds
//
// Each server runs in a process of its own (this program, re-executed),
// started afresh for each run, so that its CPU time and peak RSS can be
// measured; the servers take turns, in alternating order from round to
// round. The loads one command at a time are Postfix's smtp-source when
// it is installed (Debian: apt-get install postfix), otherwise a Go load
// generator that speaks the same way; the pipelined load is the Go one.
// Every server reports the messages and octets it stored, and a run
// stores everything only when all arrived. Everything stays on loopback
// and every run is bounded in time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if name := os.Getenv(serverEnv); name != "" {
		if err := serveChild(name); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(harness(os.Args[1:], os.Stdout, os.Stderr))
}

// config is what the flags choose.
type config struct {
	messages, sessions, pipelined, size, rounds int
	timeout                                     time.Duration
	peers                                       []string
	load                                        string
	profile                                     string
}

// allPeers are the servers compared: mocksmtp as a program and as a
// library, the Go peers, the C reference.
var allPeers = []string{"mocksmtp-program", "mocksmtp-library", "go-smtp-mock", "go-smtp", "smtp-sink"}

// goPeers are the Go servers mocksmtp is measured against.
var goPeers = []string{"go-smtp-mock", "go-smtp"}

// harness runs the comparison and returns the exit status: 1 when a run of
// mocksmtp failed or lost messages, 2 for bad flags. A target not met is
// reported, not an exit status: the numbers are the machine's too.
func harness(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	quick := fs.Bool("quick", false, "a smoke run of some ten seconds: small counts, one round, the Go servers and the Go load generator only")
	fs.IntVar(&c.messages, "m", 20000, "messages per run")
	fs.IntVar(&c.sessions, "s", 8, "concurrent sessions of the loads one command at a time")
	fs.IntVar(&c.pipelined, "ps", 32, "concurrent sessions of the pipelined load")
	fs.IntVar(&c.size, "l", 4096, "octets of payload per message, headers not included")
	fs.IntVar(&c.rounds, "rounds", 2, "runs of each server under each load, in alternating order; the best counts")
	fs.DurationVar(&c.timeout, "timeout", 3*time.Minute, "the longest one run may take")
	peers := fs.String("peers", strings.Join(allPeers, ","), "servers to compare, comma-separated")
	fs.StringVar(&c.load, "load", "auto", "load generator: smtp-source, go, or auto (smtp-source when installed)")
	fs.StringVar(&c.profile, "cpuprofile", "", "a `directory` where each run of a Go server writes a CPU profile")
	targets := fs.Bool("targets", true, "after the tables, check the targets: the program's ratios in the tables, and the main module's lifecycle and heap benchmarks (go test -bench)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *quick {
		c.messages, c.sessions, c.pipelined, c.rounds, c.timeout, c.load = 200, 4, 4, 1, 30*time.Second, "go"
		*peers = "mocksmtp-program,mocksmtp-library,go-smtp-mock,go-smtp"
	}
	c.peers = strings.Split(*peers, ",")
	switch {
	case c.messages < 1 || c.messages > 1_000_000:
		fmt.Fprintln(stderr, "bench: -m must be between 1 and 1000000")
		return 2
	case c.sessions < 1 || c.sessions > 256 || c.pipelined < 1 || c.pipelined > 256:
		fmt.Fprintln(stderr, "bench: -s and -ps must be between 1 and 256")
		return 2
	case c.size < 16 || c.size > 10<<20-4096:
		fmt.Fprintln(stderr, "bench: -l must be between 16 and 10 MiB")
		return 2
	case c.rounds < 1 || c.rounds > 10:
		fmt.Fprintln(stderr, "bench: -rounds must be between 1 and 10")
		return 2
	case c.timeout <= 0:
		fmt.Fprintln(stderr, "bench: -timeout must be positive")
		return 2
	}

	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	var ps []peer
	for _, name := range c.peers {
		switch {
		case name == "mocksmtp-program":
			dir, err := os.MkdirTemp("", "mocksmtp-bench-")
			if err != nil {
				fmt.Fprintln(stderr, "bench:", err)
				return 1
			}
			defer os.RemoveAll(dir)
			path, err := buildProgram(dir)
			if err != nil {
				fmt.Fprintln(stderr, "bench:", err)
				return 1
			}
			ps = append(ps, programPeer{path})
		case name == "smtp-sink":
			path, err := postfixTool("smtp-sink")
			if err != nil {
				fmt.Fprintln(stderr, "bench: skipping smtp-sink:", err)
				continue
			}
			ps = append(ps, sinkPeer{path})
		case goServers[name] != nil:
			ps = append(ps, goPeer{server: name, exe: exe, profile: c.profile})
		default:
			fmt.Fprintf(stderr, "bench: unknown server %q (known: %s)\n", name, strings.Join(allPeers, ", "))
			return 2
		}
	}
	var ld loader
	switch c.load {
	case "go":
		ld = goLoader{}
	case "smtp-source", "auto":
		path, err := postfixTool("smtp-source")
		switch {
		case err == nil:
			ld = smtpSource{path}
		case c.load == "auto":
			fmt.Fprintln(stderr, "bench: smtp-source not found, using the Go load generator:", err)
			ld = goLoader{}
		default:
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
	default:
		fmt.Fprintf(stderr, "bench: unknown load generator %q\n", c.load)
		return 2
	}

	scenarios := []scenario{
		{sessions: c.sessions, messages: c.messages, size: c.size, persistent: true},
		{sessions: c.pipelined, messages: c.messages, size: c.size, persistent: true, pipelined: true},
		{sessions: c.sessions, messages: c.messages, size: c.size},
	}
	start := readMachine()
	fmt.Fprintf(stdout, "# mocksmtp vs. the other SMTP test servers\n\n%s\n%d round(s), alternating order; the fastest run of each server counts, its CPU time with it.\n",
		machineNote(start), c.rounds)
	// The main module's benchmarks run first, before the loads, whose
	// thousands of connections a moment before would weigh on them.
	var benched []target
	if *targets {
		runs := fullTargetRuns
		if *quick {
			runs = quickTargetRuns
		}
		dir, err := os.MkdirTemp("", "mocksmtp-bench-")
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 2*c.timeout)
		benched = benchTargets(ctx, dir, runs)
		cancel()
	}
	status := 0
	all := make([]map[string][]result, len(scenarios))
	loads := make([]string, len(scenarios))
	for i, sc := range scenarios {
		load := ld
		if sc.pipelined {
			load = goLoader{} // smtp-source does not pipeline
		}
		results := map[string][]result{}
		all[i], loads[i] = results, load.name()
		for round := range c.rounds {
			order := slices.Clone(ps)
			if round%2 == 1 {
				slices.Reverse(order)
			}
			for _, p := range order {
				r := runOne(p, load, sc, c.timeout)
				if r.err != nil {
					fmt.Fprintf(stderr, "bench: %s, %s: %v\n", p.name(), sc, r.err)
				}
				results[p.name()] = append(results[p.name()], r)
			}
		}
		fmt.Fprintf(stdout, "\n## %s\n\nLoad: %s.\n\n", sc, load.name())
		printTable(stdout, ps, results)
		for _, name := range []string{"mocksmtp-program", "mocksmtp-library"} {
			for _, r := range results[name] {
				if !r.ok() {
					status = 1
				}
			}
		}
	}
	if *targets {
		printTargets(stdout, append(throughputTargets(scenarios, all, loads), benched...))
	}
	fmt.Fprintf(stdout, "\n%s\n", othersNote(start, readMachine()))
	fmt.Fprintln(stdout, "\n× Go peer: messages/s over those of the fastest Go peer in the same table. CPU: the server process's user+system time. "+
		"stored: messages the server holds after the run (octets of message data; smtp-sink counts messages only).")
	return status
}

// postfixTool finds a Postfix test program: on PATH, or in /usr/sbin,
// where Debian installs it and which is not on every user's PATH.
func postfixTool(name string) (string, error) {
	if path, err := exec.LookPath(name); err == nil {
		return path, nil
	}
	path := "/usr/sbin/" + name
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s is not installed (Debian: apt-get install postfix)", name)
	}
	return path, nil
}

// result is one run of one server under one load.
type result struct {
	wall       time.Duration // from the first connection to the last reply
	sent       int64         // messages sent
	sentOctets int64         // octets of message data sent, -1 when unknown
	msgs       int64         // messages the server stored
	octets     int64         // their octets, -1 when unknown
	minOctets  int64         // the least octets the messages can have
	cpu        time.Duration // user + system time of the server process
	user       time.Duration // of which user time
	maxRSS     int64         // peak resident set of the server process, in octets
	err        error
}

// ok reports whether the run finished and every message arrived whole.
func (r result) ok() bool {
	if r.err != nil || r.msgs != r.sent {
		return false
	}
	switch {
	case r.octets < 0: // the server does not count octets
		return true
	case r.sentOctets >= 0:
		return r.octets == r.sentOctets
	}
	return r.octets >= r.minOctets
}

func (r result) rate() float64 {
	if r.wall <= 0 {
		return 0
	}
	return float64(r.sent) / r.wall.Seconds()
}

// runOne starts p, puts the load on it, collects what it stored, and
// stops it, all within timeout.
func runOne(p peer, ld loader, sc scenario, timeout time.Duration) (r result) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r.sent = int64(sc.messages)
	r.minOctets = int64(sc.messages) * int64(sc.size)
	pr, err := p.start(ctx)
	if err != nil {
		r.err = err
		return r
	}
	var loadUsage *syscall.Rusage // the server's own account of the load, when it gives one
	defer func() {
		ru, err := pr.stop()
		if loadUsage != nil {
			ru = loadUsage
		}
		if ru != nil {
			r.user = time.Duration(syscall.TimevalToNsec(ru.Utime))
			r.cpu = r.user + time.Duration(syscall.TimevalToNsec(ru.Stime))
			r.maxRSS = ru.Maxrss * 1024 // KiB on Linux
		}
		if r.err == nil && err != nil {
			r.err = fmt.Errorf("stopping the server: %w", err)
		}
	}()
	start := time.Now()
	r.sentOctets, err = ld.load(ctx, pr.addr(), sc)
	r.wall = time.Since(start)
	if err != nil {
		r.err = err
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			r.err = fmt.Errorf("not done after %v: %w", timeout, err)
		}
	}
	r.msgs, r.octets, loadUsage, err = pr.stats(ctx, sc.messages)
	if r.err == nil && err != nil {
		r.err = fmt.Errorf("stats: %w", err)
	}
	return r
}

// best returns the fastest run, preferring runs that stored everything.
func best(rs []result) result {
	var b result
	for i, r := range rs {
		if i == 0 || r.ok() && !b.ok() || r.ok() == b.ok() && r.rate() > b.rate() {
			b = r
		}
	}
	return b
}

func printTable(w io.Writer, ps []peer, results map[string][]result) {
	ref, refName := fastestGoPeer(results)
	fmt.Fprintln(w, "| server | messages/s | × Go peer | CPU s per 10k messages (user+sys) | CPU per message | peak RSS | stored |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|---|")
	for _, p := range ps {
		rs := results[p.name()]
		if len(rs) == 0 {
			continue
		}
		r := best(rs)
		if r.err != nil && r.wall == 0 {
			fmt.Fprintf(w, "| %s | – | – | – | – | – | failed: %v |\n", p.name(), r.err)
			continue
		}
		ratio := "–"
		if ref.rate() > 0 {
			ratio = fmt.Sprintf("%.2f", r.rate()/ref.rate())
		}
		per10k := func(d time.Duration) float64 { return d.Seconds() * 10000 / float64(r.sent) }
		fmt.Fprintf(w, "| %s | %.0f | %s | %.2f (%.2f+%.2f) | %.0f µs | %.1f MiB | %s |\n",
			p.name(), r.rate(), ratio, per10k(r.cpu), per10k(r.user), per10k(r.cpu-r.user),
			float64(r.cpu.Microseconds())/float64(r.sent), float64(r.maxRSS)/(1<<20), stored(r))
	}
	if refName != "" {
		fmt.Fprintf(w, "\nFastest Go peer: %s.", refName)
		cpu := func(name string) float64 {
			if rs := finished(results[name]); len(rs) > 0 {
				if r := best(rs); r.sent > 0 {
					return r.cpu.Seconds() / float64(r.sent)
				}
			}
			return 0
		}
		for _, name := range []string{"mocksmtp-program", "mocksmtp-library"} {
			if rs := results[name]; len(rs) > 0 {
				r := best(rs)
				fmt.Fprintf(w, " %s: %.2f× its messages/s", name, r.rate()/ref.rate())
				if m := cpu("go-smtp-mock"); m > 0 && cpu(name) > 0 {
					fmt.Fprintf(w, ", %.2f× go-smtp-mock's CPU per message", cpu(name)/m)
				}
				fmt.Fprint(w, ".")
			}
		}
		fmt.Fprintln(w)
	}
}

// stored describes what the server held after the run, with a mark
// saying whether everything arrived.
func stored(r result) string {
	s := fmt.Sprintf("%d/%d", r.msgs, r.sent)
	if r.octets >= 0 {
		s += fmt.Sprintf(", %.1f MB", float64(r.octets)/1e6)
	}
	if r.ok() {
		return s + " ✓"
	}
	if r.err != nil {
		return s + " ✗ " + r.err.Error()
	}
	return s + " ✗"
}

// machine is what the harness reads of the machine at the start and the
// end of a comparison: how busy its CPUs were, and how much of that was
// the harness and its children (the servers and load generators).
type machine struct {
	at        time.Time
	load      string        // the load averages
	busy      time.Duration // CPU time of the whole machine, all CPUs, since boot
	ourselves time.Duration // CPU time of the harness and its waited-for children
}

func readMachine() machine {
	m := machine{at: time.Now()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.load = strings.Join(f[:3], " ")
		}
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		// cpu user nice system idle iowait irq softirq steal ...
		if f := strings.Fields(line); len(f) > 8 && f[0] == "cpu" {
			var ticks int64
			for _, i := range []int{1, 2, 3, 6, 7, 8} {
				n, _ := strconv.ParseInt(f[i], 10, 64)
				ticks += n
			}
			m.busy = time.Duration(ticks) * time.Second / 100 // USER_HZ
		}
	}
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			m.ourselves += time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
		}
	}
	return m
}

// machineNote describes where the numbers were taken.
func machineNote(m machine) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	load := ""
	if m.load != "" {
		load = ", load average " + m.load + " at the start"
	}
	return fmt.Sprintf("Machine: %d CPUs (%s), %s/%s, %s%s.\n",
		runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version(), load)
}

// othersNote says how busy the machine was with other work during the
// comparison: the ratios are measured in one run, side by side, but the
// absolute rates depend on it.
func othersNote(start, end machine) string {
	wall := end.at.Sub(start.at)
	if wall <= 0 || end.busy <= start.busy {
		return fmt.Sprintf("Load average %s at the end.", end.load)
	}
	others := (end.busy - start.busy) - (end.ourselves - start.ourselves)
	return fmt.Sprintf("During the %v of the comparison, other processes kept %.2f of the %d CPUs busy on average (the servers, load generators and harness: %.2f); load average %s at the end.",
		wall.Round(time.Second), max(others, 0).Seconds()/wall.Seconds(), runtime.NumCPU(),
		(end.ourselves-start.ourselves).Seconds()/wall.Seconds(), end.load)
}
