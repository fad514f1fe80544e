package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	smtpmock "github.com/mocktools/go-smtp-mock/v2"

	"github.com/mocksmtp/mocksmtp"
)

// A server process speaks to the harness on its standard input and output:
//
//	server → harness   ready 127.0.0.1:40123
//	harness → server   stats 20000            (the number of messages sent)
//	server → harness   stats 20000 82340000   (messages and octets it holds)
//
// and exits when its standard input closes. It waits up to statsWait for
// the messages it was told about before it counts.

// serverEnv names the server a re-executed harness becomes; profileEnv,
// when set, is the file it writes a CPU profile to.
const (
	serverEnv  = "MOCKSMTP_BENCH_SERVER"
	profileEnv = "MOCKSMTP_BENCH_CPUPROFILE"
)

// statsWait bounds how long a server waits for the messages the harness
// sent to be stored before it counts them.
const statsWait = 2 * time.Second

// goServer is one of the Go servers under comparison, running in its own
// process.
type goServer interface {
	// addr is where it listens.
	addr() string
	// stats waits up to statsWait for want messages, then counts the
	// messages stored and their octets.
	stats(want int) (msgs, octets int64)
	close()
}

// goServers builds each Go server by name, listening on 127.0.0.1 with a
// random port.
var goServers = map[string]func() (goServer, error){
	"mocksmtp-library": startMocksmtp,
	"go-smtp-mock":     startSMTPMock,
	"go-smtp":          startGoSMTP,
}

// serveChild runs the named server and its side of the protocol on stdin
// and stdout. It returns when stdin closes.
func serveChild(name string) error {
	start, ok := goServers[name]
	if !ok {
		return fmt.Errorf("unknown server %q", name)
	}
	profiling := false
	if path := os.Getenv(profileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		profiling = true
		defer func() {
			if profiling {
				pprof.StopCPUProfile()
			}
		}()
	}
	srv, err := start()
	if err != nil {
		return err
	}
	defer srv.close()
	fmt.Printf("ready %s\n", srv.addr())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) != 2 || f[0] != "stats" {
			return fmt.Errorf("bad request %q", in.Text())
		}
		want, err := strconv.Atoi(f[1])
		if err != nil {
			return fmt.Errorf("bad request %q", in.Text())
		}
		// The resource usage of the load, before counting what arrived:
		// that is the harness's work, not the server's, and no part of
		// the profile either.
		if profiling {
			pprof.StopCPUProfile()
			profiling = false
		}
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return err
		}
		// The peak RSS from /proc: getrusage's would include the
		// harness's, which the process had before it exec'd.
		pu, err := procUsage(os.Getpid())
		if err != nil {
			return err
		}
		ru.Maxrss = pu.Maxrss
		msgs, octets := srv.stats(want)
		fmt.Printf("stats %d %d %d %d %d\n", msgs, octets, syscall.TimevalToNsec(ru.Utime), syscall.TimevalToNsec(ru.Stime), ru.Maxrss)
	}
	return in.Err()
}

// mocksmtpServer is mocksmtp with its defaults: full recording of
// transcripts, raw messages and parsed MIME.
type mocksmtpServer struct{ srv *mocksmtp.Server }

func startMocksmtp() (goServer, error) {
	srv, err := mocksmtp.New()
	if err != nil {
		return nil, err
	}
	return &mocksmtpServer{srv}, nil
}

func (s *mocksmtpServer) addr() string { return s.srv.Addr() }
func (s *mocksmtpServer) close()       { s.srv.Close() }

func (s *mocksmtpServer) stats(want int) (msgs, octets int64) {
	ctx, cancel := context.WithTimeout(context.Background(), statsWait)
	defer cancel()
	all, _ := s.srv.WaitForMessagesContext(ctx, want)
	for _, m := range all {
		octets += int64(len(m.Raw))
	}
	return int64(len(all)), octets
}

// smtpMockServer is github.com/mocktools/go-smtp-mock with the settings
// a load needs: several messages per session.
type smtpMockServer struct{ srv *smtpmock.Server }

func startSMTPMock() (goServer, error) {
	srv := smtpmock.New(smtpmock.ConfigurationAttr{
		HostAddress:              "127.0.0.1",
		MultipleMessageReceiving: true,
		MultipleRcptto:           true,
	})
	if err := srv.Start(); err != nil {
		return nil, err
	}
	return &smtpMockServer{srv}, nil
}

func (s *smtpMockServer) addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.srv.PortNumber()))
}
func (s *smtpMockServer) close() { _ = s.srv.Stop() }

func (s *smtpMockServer) stats(want int) (msgs, octets int64) {
	// It stores a session's message at QUIT or at the next MAIL after
	// an RSET; its wait polls.
	all, _ := s.srv.WaitForMessages(want, statsWait)
	for _, m := range all {
		if m.Msg() {
			msgs++
			octets += int64(len(m.MsgRequest()))
		}
	}
	return msgs, octets
}

// goSMTPServer is the minimal github.com/emersion/go-smtp server a Go team
// would write for its tests: every message kept in memory.
type goSMTPServer struct {
	srv  *gosmtp.Server
	ln   net.Listener
	done chan struct{}

	mu      sync.Mutex // guards the fields below
	msgs    []storedMessage
	octets  int64
	changed chan struct{} // closed and replaced on each message
}

type storedMessage struct {
	from string
	to   []string
	data []byte
}

func startGoSMTP() (goServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &goSMTPServer{ln: ln, done: make(chan struct{}), changed: make(chan struct{})}
	s.srv = gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &goSMTPSession{srv: s}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

func (s *goSMTPServer) addr() string { return s.ln.Addr().String() }

func (s *goSMTPServer) close() {
	_ = s.srv.Close()
	<-s.done
}

func (s *goSMTPServer) stats(want int) (msgs, octets int64) {
	timer := time.NewTimer(statsWait)
	defer timer.Stop()
	for {
		s.mu.Lock()
		n, o, ch := len(s.msgs), s.octets, s.changed
		s.mu.Unlock()
		if n >= want {
			return int64(n), o
		}
		select {
		case <-ch:
		case <-timer.C:
			return int64(n), o
		}
	}
}

type goSMTPSession struct {
	srv  *goSMTPServer
	from string
	to   []string
}

func (s *goSMTPSession) Reset()        { s.from, s.to = "", nil }
func (s *goSMTPSession) Logout() error { return nil }

func (s *goSMTPSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *goSMTPSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *goSMTPSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	st := s.srv
	st.mu.Lock()
	st.msgs = append(st.msgs, storedMessage{s.from, s.to, data})
	st.octets += int64(len(data))
	close(st.changed)
	st.changed = make(chan struct{})
	st.mu.Unlock()
	return nil
}
