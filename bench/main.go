// Command bench compares mocksmtp with the SMTP servers Go tests use in
// its place, and with Postfix's smtp-sink, under the same load, and
// prints the results as a Markdown table.
//
//	cd bench && go run .           # the full comparison (a few minutes)
//	cd bench && go run . -quick    # a smoke run of a few seconds
//
// Each server runs in a process of its own (this program, re-executed),
// started afresh for each run, so that its CPU time and peak RSS can be
// measured; the servers take turns, in alternating order from round to
// round. The load is Postfix's smtp-source when it is installed (Debian:
// apt-get install postfix), otherwise a Go load generator that speaks the
// same way. Every server reports the messages and octets it stored, and
// the run counts only when all arrived. Everything stays on loopback and
// every run is bounded in time.
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
	messages, sessions, size, rounds int
	timeout                          time.Duration
	peers                            []string
	load                             string
	profile                          string
}

// allPeers are the servers compared, mocksmtp first: the others are
// measured against it.
var allPeers = []string{"mocksmtp", "go-smtp-mock", "go-smtp", "smtp-sink"}

// harness runs the comparison and returns the exit status: 1 when a run of
// mocksmtp failed or lost messages, 2 for bad flags.
func harness(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	quick := fs.Bool("quick", false, "a smoke run of a few seconds: small counts, one round, the Go servers and the Go load generator only")
	fs.IntVar(&c.messages, "m", 20000, "messages per run")
	fs.IntVar(&c.sessions, "s", 8, "concurrent sessions of the many-sessions load")
	fs.IntVar(&c.size, "l", 4096, "octets of payload per message, headers not included")
	fs.IntVar(&c.rounds, "rounds", 2, "runs of each server under each load, in alternating order; the best counts")
	fs.DurationVar(&c.timeout, "timeout", 3*time.Minute, "the longest one run may take")
	peers := fs.String("peers", strings.Join(allPeers, ","), "servers to compare, comma-separated")
	fs.StringVar(&c.load, "load", "auto", "load generator: smtp-source, go, or auto (smtp-source when installed)")
	fs.StringVar(&c.profile, "cpuprofile", "", "a `directory` where each run of a Go server writes a CPU profile")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *quick {
		c.messages, c.sessions, c.rounds, c.timeout, c.load = 200, 4, 1, 30*time.Second, "go"
		*peers = "mocksmtp,go-smtp-mock,go-smtp"
	}
	c.peers = strings.Split(*peers, ",")
	switch {
	case c.messages < 1 || c.messages > 1_000_000:
		fmt.Fprintln(stderr, "bench: -m must be between 1 and 1000000")
		return 2
	case c.sessions < 1 || c.sessions > 256:
		fmt.Fprintln(stderr, "bench: -s must be between 1 and 256")
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
		{sessions: c.sessions, messages: c.messages, size: c.size},
		{sessions: 1, messages: c.messages, size: c.size, persistent: true},
	}
	fmt.Fprintf(stdout, "# mocksmtp vs. the other SMTP test servers\n\n%s\nLoad: %s. %d round(s), alternating order; the fastest run of each server counts.\n",
		machineNote(), ld.name(), c.rounds)
	status := 0
	for _, sc := range scenarios {
		results := map[string][]result{}
		for round := range c.rounds {
			order := slices.Clone(ps)
			if round%2 == 1 {
				slices.Reverse(order)
			}
			for _, p := range order {
				r := runOne(p, ld, sc, c.timeout)
				if r.err != nil {
					fmt.Fprintf(stderr, "bench: %s, %s: %v\n", p.name(), sc, r.err)
				}
				results[p.name()] = append(results[p.name()], r)
			}
		}
		fmt.Fprintf(stdout, "\n## %s\n\n", sc)
		printTable(stdout, ps, results)
		for _, r := range results["mocksmtp"] {
			if !r.ok() {
				status = 1
			}
		}
	}
	fmt.Fprintln(stdout, "\nstored: messages the server holds after the run (octets of message data; smtp-sink counts messages only).")
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
	ref := best(results["mocksmtp"])
	fmt.Fprintln(w, "| server | messages/s | × mocksmtp | CPU s (user+sys) | messages per CPU s | peak RSS | stored |")
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
		if ref.rate() > 0 && ref.ok() {
			ratio = fmt.Sprintf("%.2f", r.rate()/ref.rate())
		}
		perCPU := "–"
		if r.cpu > 0 {
			perCPU = fmt.Sprintf("%.0f", float64(r.sent)/r.cpu.Seconds())
		}
		fmt.Fprintf(w, "| %s | %.0f | %s | %.2f (%.2f+%.2f) | %s | %.1f MiB | %s |\n",
			p.name(), r.rate(), ratio, r.cpu.Seconds(), r.user.Seconds(), (r.cpu - r.user).Seconds(), perCPU, float64(r.maxRSS)/(1<<20), stored(r))
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

// machineNote describes where the numbers were taken.
func machineNote() string {
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
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = fmt.Sprintf(", load average %s %s %s at the start", f[0], f[1], f[2])
		}
	}
	return fmt.Sprintf("Machine: %d CPUs (%s), %s/%s, %s%s.\n",
		runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version(), load)
}
