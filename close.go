package mocksmtp

import (
	"fmt"
	"log"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// This file holds what Close says when it cannot return: a session whose
// goroutine is in a user's callback (WithOnMessage, WithOnSessionEnd) does
// not end until the callback returns. After closeWarnAfter, Close says
// which sessions it waits for, and where each is, as
// net/http/httptest.Server.Close does.

// closeWarnAfter is how long Close waits in silence.
const closeWarnAfter = 5 * time.Second

// callbacks tracks the user callbacks that sessions are running.
type callbacks struct {
	mu      sync.Mutex        // guards running
	running map[int]*callback // by session ID
}

// callback is a user callback a session is running.
type callback struct {
	remote net.Addr
	name   string // "WithOnMessage callback (message 3)"
	since  time.Time
}

// run runs f, the callback name, for session rec, noting it while it runs.
// Only rec's goroutine calls it.
func (c *callbacks) run(rec *session, name string, f func()) {
	id := rec.id // set when the session was registered, never changed
	rec.mu.Lock()
	remote, _ := rec.addrs()
	rec.mu.Unlock()
	c.mu.Lock()
	if c.running == nil {
		c.running = make(map[int]*callback)
	}
	c.running[id] = &callback{remote: remote, name: name, since: time.Now()}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.running, id)
		c.mu.Unlock()
	}()
	f()
}

// waitSessions waits for the server's goroutines to end; when that takes
// closeWarnAfter, it logs the sessions it still waits for (logBlocked)
// and goes on waiting. It returns after the log, if any: a test's log
// takes no lines once the test has ended.
func (s *Server) waitSessions() {
	logged := make(chan struct{})
	t := time.AfterFunc(closeWarnAfter, func() {
		defer close(logged)
		s.logBlocked(s.blocked())
	})
	s.wg.Wait()
	if !t.Stop() {
		<-logged
	}
}

// blocked describes the sessions Close is waiting for.
func (s *Server) blocked() string {
	type entry struct {
		id   int
		text string
	}
	var out []entry
	s.calls.mu.Lock()
	for id, cb := range s.calls.running {
		out = append(out, entry{id, fmt.Sprintf("  session %d (%v): in the %s for %v", id, cb.remote, cb.name, time.Since(cb.since).Round(time.Millisecond))})
	}
	s.calls.mu.Unlock()
	s.mu.Lock()
	for _, r := range s.sessions {
		r.mu.Lock()
		if r.ended != Live || slices.ContainsFunc(out, func(e entry) bool { return e.id == r.id }) {
			r.mu.Unlock()
			continue
		}
		last := "nothing said yet"
		if len(r.lines) > 0 {
			last = fmt.Sprintf("last line %d %s", r.nlines(), r.lines[len(r.lines)-1].line())
		}
		remote, _ := r.addrs()
		r.mu.Unlock()
		out = append(out, entry{r.id, fmt.Sprintf("  session %d (%v): live, %s", r.id, remote, last)})
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b entry) int { return a.id - b.id })
	var b strings.Builder
	fmt.Fprintf(&b, "Close has waited %v for %s to end:", closeWarnAfter, plural(len(out), "session"))
	for _, e := range out {
		b.WriteString("\n" + e.text)
	}
	return b.String()
}

// logBlocked logs what Close waits for: to the test's log for a server of
// Start, at the line that called Start (from a timer's goroutine, which
// the testing package cannot trace to it: cleanup.go), and otherwise with
// the standard library's log package, as net/http/httptest does.
func (s *Server) logBlocked(what string) {
	if t := s.exp.t; t != nil {
		writesAt(t, s.exp.started).Logf("mocksmtp: Start at %s: %s", s.exp.started, what)
		return
	}
	log.Printf("mocksmtp: server %s: %s", s.place(), what)
}
