//go:build linux

package mocksmtp

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The accept loop survives a moment without file descriptors: it backs
// off and retries, and the next session's transcript says so (issue 13
// item 7). The test runs itself in a child process, whose descriptor
// limit it lowers without touching the other tests.
func TestAcceptLoopSurvivesEMFILE(t *testing.T) {
	if os.Getenv("MOCKSMTP_TEST_EMFILE") == "1" {
		emfileChild(t)
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptLoopSurvivesEMFILE$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "MOCKSMTP_TEST_EMFILE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestAcceptLoopSurvivesEMFILE") {
		t.Fatalf("the child process: %v\n%s", err, out)
	}
}

// emfileChild makes Accept fail with EMFILE while a client waits, then
// frees the descriptors: the client must be greeted.
func emfileChild(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	limit := old
	limit.Cur = uint64(len(fds) + 16)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limit); err != nil {
		t.Fatal(err)
	}
	defer syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	var fill []*os.File
	release := func() {
		for _, f := range fill {
			f.Close()
		}
		fill = nil
	}
	defer release()
	for {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fill = append(fill, f)
	}
	// One descriptor for the client; none for the server's Accept.
	fill[len(fill)-1].Close()
	fill = fill[:len(fill)-1]
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = s.await(ctx, changeSession, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.acceptFails.n > 0
	})
	if err != nil {
		t.Fatalf("Accept never failed: %v", err)
	}
	release()

	greetAndQuit(t, conn)
	ss, err := s.WaitForSessionsContext(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !notesAcceptFailures(ss[0]) {
		// A descriptor that another part of the process (the race
		// detector's runtime, say) freed after the fill let the server
		// accept the client at once; Accept failed only after, on the way
		// to the next connection, whose session notes it.
		s.mu.Lock()
		pending := s.acceptFails.n
		s.mu.Unlock()
		if pending == 0 {
			t.Fatalf("the transcript does not note the failures, and none waits for the next session:\n%s", ss[0].Transcript)
		}
		next, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer next.Close()
		greetAndQuit(t, next)
		if ss, err = s.WaitForSessionsContext(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if !notesAcceptFailures(ss[1]) {
			t.Errorf("the session after the failures does not note them:\n%s", ss[1].Transcript)
		}
	}
}

// greetAndQuit reads the greeting on conn, says QUIT, reads the 221 and closes.
func greetAndQuit(t *testing.T, conn net.Conn) {
	t.Helper()
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "220 ") {
		t.Fatalf("after the descriptors were freed: %q, %v; want the greeting", l, err)
	}
	if _, err := conn.Write([]byte("QUIT\r\n")); err != nil {
		t.Fatal(err)
	}
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "221 ") {
		t.Fatalf("QUIT: %q, %v", l, err)
	}
}

// notesAcceptFailures reports whether a session's transcript notes the
// failures of Accept before it.
func notesAcceptFailures(ss *Session) bool {
	tr := ss.Transcript.String()
	return strings.Contains(tr, "*: the server could not accept connections for") && strings.Contains(tr, "too many open files")
}

// The server listens on plain TCP, not on the Multipath TCP Go's
// listeners take by default where the kernel has it: a client that asks
// for MPTCP falls back to TCP, and the session goes on as any other.
func TestListensOnPlainTCP(t *testing.T) {
	t.Parallel()
	if b, err := os.ReadFile("/proc/sys/net/mptcp/enabled"); err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Skip("the kernel has no Multipath TCP (/proc/sys/net/mptcp/enabled is not 1): nothing to tell plain TCP from")
	}
	srv, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var d net.Dialer
	d.SetMultipathTCP(true)
	conn, err := d.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "220 ") {
		t.Fatalf("greeting: %q, %v", line, err)
	}
	mp, err := conn.(*net.TCPConn).MultipathTCP()
	if err != nil {
		t.Fatal(err)
	}
	if mp {
		t.Error("a client asking for Multipath TCP got it: the server listens on MPTCP")
	}
	if _, err := conn.Write([]byte("QUIT\r\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "221 ") {
		t.Fatalf("QUIT: %q, %v", line, err)
	}
}
