package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A peer is a server under comparison. Each run starts it afresh in a
// process of its own, so that its CPU time and peak RSS are its own.
type peer interface {
	name() string
	start(ctx context.Context) (proc, error)
}

// proc is a running server process.
type proc interface {
	addr() string
	// stats returns how many messages the server holds and their octets
	// (-1 when it cannot tell), once sent messages arrived or after a
	// short wait, and the server's resource usage before it counted them
	// (nil when only stop can tell).
	stats(ctx context.Context, sent int) (msgs, octets int64, usage *syscall.Rusage, err error)
	// stop ends the process and returns its resource usage.
	stop() (*syscall.Rusage, error)
}

// lineWriter calls line with each line written to it, split at CR or LF.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexAny(w.buf, "\r\n")
		if i < 0 {
			return len(p), nil
		}
		if i > 0 {
			w.line(string(w.buf[:i]))
		}
		w.buf = w.buf[i+1:]
	}
}

// child is a started process, waited for by one goroutine from its start
// so that an early exit is noticed at once.
type child struct {
	cmd    *exec.Cmd
	stdin  io.Closer     // closing it asks the process to exit; nil: SIGTERM does
	exited chan struct{} // closed when the process has exited
	err    error         // what Wait returned, once exited is closed
}

func startChild(cmd *exec.Cmd, stdin io.Closer) (*child, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// early is the error for a process that exited before it was asked to.
func (c *child) early() error {
	return fmt.Errorf("%s exited: %v", c.cmd.Path, c.err)
}

// stop ends the process: it closes stdin (when there is one) or sends
// SIGTERM, kills the process if it has not exited after a grace period,
// and returns its resource usage.
func (c *child) stop() (*syscall.Rusage, error) {
	if c.stdin != nil {
		c.stdin.Close()
	} else {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	var killed error
	select {
	case <-c.exited:
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.exited
		killed = fmt.Errorf("%s did not exit, killed", c.cmd.Path)
	}
	ru, _ := c.cmd.ProcessState.SysUsage().(*syscall.Rusage)
	err := c.err
	var ee *exec.ExitError
	if c.stdin == nil && errors.As(err, &ee) && !ee.Exited() { // ended by our SIGTERM
		err = nil
	}
	if killed != nil {
		err = killed
	}
	return ru, err
}

// goPeer is one of the Go servers, run by re-executing this program with
// serverEnv set.
type goPeer struct {
	server  string
	exe     string
	profile string // a directory for CPU profiles, "" for none
}

func (p goPeer) name() string { return p.server }

type goProc struct {
	*child
	stdin io.WriteCloser
	lines chan string // what the server prints, line by line
	where string
}

func (p goPeer) start(ctx context.Context) (proc, error) {
	cmd := exec.Command(p.exe)
	cmd.Env = append(os.Environ(), serverEnv+"="+p.server)
	if p.profile != "" {
		f, err := os.CreateTemp(p.profile, p.server+"-*.pprof")
		if err != nil {
			return nil, err
		}
		f.Close()
		cmd.Env = append(cmd.Env, profileEnv+"="+f.Name())
	}
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 2 * time.Second
	lines := make(chan string, 16)
	cmd.Stdout = &lineWriter{line: func(l string) { lines <- l }}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	c, err := startChild(cmd, stdin)
	if err != nil {
		return nil, err
	}
	pr := &goProc{child: c, stdin: stdin, lines: lines}
	l, err := pr.line(ctx, "ready ")
	if err != nil {
		pr.stop()
		return nil, fmt.Errorf("%s did not start: %w", p.server, err)
	}
	pr.where = l
	return pr, nil
}

// line waits for the server to print a line starting with prefix and
// returns the rest.
func (pr *goProc) line(ctx context.Context, prefix string) (string, error) {
	for {
		select {
		case l := <-pr.lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return rest, nil
			}
			return "", fmt.Errorf("unexpected output %q", l)
		case <-pr.exited:
			return "", pr.early()
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func (pr *goProc) addr() string { return pr.where }

func (pr *goProc) stats(ctx context.Context, sent int) (int64, int64, *syscall.Rusage, error) {
	if _, err := fmt.Fprintf(pr.stdin, "stats %d\n", sent); err != nil {
		return 0, 0, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, statsWait+10*time.Second)
	defer cancel()
	l, err := pr.line(ctx, "stats ")
	if err != nil {
		return 0, 0, nil, err
	}
	var msgs, octets, user, sys int64
	var ru syscall.Rusage
	if _, err := fmt.Sscan(l, &msgs, &octets, &user, &sys, &ru.Maxrss); err != nil {
		return 0, 0, nil, fmt.Errorf("bad stats %q: %w", l, err)
	}
	ru.Utime, ru.Stime = syscall.NsecToTimeval(user), syscall.NsecToTimeval(sys)
	return msgs, octets, &ru, nil
}

// sinkPeer is Postfix's smtp-sink, the C reference: it accepts messages
// and throws them away, and counts them (-c) but not their octets.
type sinkPeer struct{ path string }

func (sinkPeer) name() string { return "smtp-sink" }

type sinkProc struct {
	*child
	where string

	mu      sync.Mutex // guards the fields below
	msgs    int64      // the latest "mesg=" counter
	changed chan struct{}
}

func (p sinkPeer) start(ctx context.Context) (proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	where := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := []string{"-c"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "nobody") // required when run as root
	}
	args = append(args, where, "256")
	cmd := exec.Command(p.path, args...)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 2 * time.Second
	pr := &sinkProc{where: where, changed: make(chan struct{})}
	cmd.Stdout = &lineWriter{line: pr.counters}
	c, err := startChild(cmd, nil)
	if err != nil {
		return nil, err
	}
	pr.child = c
	if err := waitListening(ctx, where, c.exited); err != nil {
		if errors.Is(err, errExited) {
			err = c.early()
		}
		pr.stop()
		return nil, fmt.Errorf("smtp-sink did not start: %w", err)
	}
	return pr, nil
}

// counters parses a line of smtp-sink -c: "sess=3 quit=3 mesg=2".
func (pr *sinkProc) counters(l string) {
	for _, f := range strings.Fields(l) {
		if v, ok := strings.CutPrefix(f, "mesg="); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				pr.mu.Lock()
				pr.msgs = n
				close(pr.changed)
				pr.changed = make(chan struct{})
				pr.mu.Unlock()
			}
		}
	}
}

func (pr *sinkProc) addr() string { return pr.where }

// stats reads smtp-sink's usage from /proc: its rusage at exit would
// include, as peak RSS, the harness's, which it had before it exec'd.
func (pr *sinkProc) stats(ctx context.Context, sent int) (int64, int64, *syscall.Rusage, error) {
	ctx, cancel := context.WithTimeout(ctx, statsWait)
	defer cancel()
	for {
		pr.mu.Lock()
		n, ch := pr.msgs, pr.changed
		pr.mu.Unlock()
		if n >= int64(sent) {
			ru, err := procUsage(pr.cmd.Process.Pid)
			return n, -1, ru, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			ru, err := procUsage(pr.cmd.Process.Pid)
			return n, -1, ru, err
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// errExited says that a server exited while it was awaited.
var errExited = errors.New("exited")

// waitListening waits until a server accepts connections at addr and
// greets, or exits: smtp-sink says nothing when it is ready.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = bufio.NewReader(conn).ReadString('\n')
			io.WriteString(conn, "QUIT\r\n")
			conn.Close()
			return err
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-tick.C:
		}
	}
}
