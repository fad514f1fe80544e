package smtpd_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// The scripts in testdata/scripts drive the engine over a real TCP
// connection, line by line, with a driver that accepts every event:
//
//	C: text     send text and CRLF (Go escapes: \r \n \x00 \\)
//	C< text     send text as it is, no CRLF added
//	S: prefix   read one reply line; it must start with prefix
//	S: <eof>    the server has closed the connection
//	M: text     the next accepted message's data is text (Go escapes; * for any)
//	@ key value engine configuration: size, maxrcpt, maxbad, maxline, disable
//	# comment
//
// Consecutive C lines are written in one go (pipelining) when the next S
// line comes.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/scripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			runScript(t, f)
		})
	}
}

type step struct {
	line int
	op   string
	text string
}

func parseScript(t *testing.T, name string) (smtpd.Config, []step) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var cfg smtpd.Config
	var steps []step
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimPrefix(l, "@ "), " "); ok && strings.HasPrefix(l, "@ ") {
			n, _ := strconv.Atoi(v)
			switch k {
			case "size":
				cfg.MaxMessageBytes = int64(n)
			case "maxrcpt":
				cfg.MaxRecipients = n
			case "maxbad":
				cfg.MaxBadCommands = n
			case "maxline":
				cfg.MaxCommandLine = n
			case "textline":
				cfg.MaxTextLine = n
			case "disable":
				for _, e := range strings.Split(v, ",") {
					cfg.Disabled |= map[string]smtpd.Extension{
						"PIPELINING": smtpd.ExtPipelining, "8BITMIME": smtpd.Ext8BitMIME,
						"SMTPUTF8": smtpd.ExtSMTPUTF8, "SIZE": smtpd.ExtSize, "CHUNKING": smtpd.ExtChunking,
						"DSN": smtpd.ExtDSN, "ENHANCEDSTATUSCODES": smtpd.ExtEnhancedStatusCodes,
					}[e]
				}
			default:
				t.Fatalf("%s:%d: unknown setting %q", name, i+1, k)
			}
			continue
		}
		if len(l) < 3 || !strings.Contains("C: C< S: M:", l[:2]) {
			t.Fatalf("%s:%d: bad script line %q", name, i+1, l)
		}
		text := strings.TrimPrefix(l[2:], " ")
		if l[0] == 'C' || l[0] == 'M' {
			u, err := strconv.Unquote(`"` + strings.ReplaceAll(text, `"`, `\"`) + `"`)
			if err != nil {
				t.Fatalf("%s:%d: bad escape: %v", name, i+1, err)
			}
			text = u
		}
		steps = append(steps, step{i + 1, l[:2], text})
	}
	return cfg, steps
}

// acceptAll serves one connection, accepting every event, and sends each
// accepted message's data to msgs.
func acceptAll(ctx context.Context, nc net.Conn, cfg smtpd.Config, msgs chan<- []byte) error {
	c := smtpd.NewConn(nc, cfg)
	defer c.Close(nil)
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			return err
		}
		if ev.Kind == smtpd.Message && ev.Err == nil {
			msgs <- ev.Data
		}
	}
}

// serveOne listens on loopback and serves one connection with serve; the
// returned function waits for it to end and returns its error.
func serveOne(t *testing.T, serve func(net.Conn) error) (addr string, wait func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		ln.Close()
		if err != nil {
			done <- err
			return
		}
		done <- serve(nc)
	}()
	var result error
	waited := false
	wait = func() error {
		if !waited {
			waited, result = true, <-done
		}
		return result
	}
	t.Cleanup(func() { ln.Close(); wait() })
	return ln.Addr().String(), wait
}

func runScript(t *testing.T, name string) {
	cfg, steps := parseScript(t, name)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	msgs := make(chan []byte, 16)
	addr, _ := serveOne(t, func(nc net.Conn) error { return acceptAll(ctx, nc, cfg, msgs) })
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	var pending strings.Builder
	flush := func() {
		if pending.Len() > 0 {
			if _, err := io.WriteString(conn, pending.String()); err != nil {
				t.Fatalf("write: %v", err)
			}
			pending.Reset()
		}
	}
	for _, s := range steps {
		where := fmt.Sprintf("%s:%d", filepath.Base(name), s.line)
		switch s.op {
		case "C:":
			pending.WriteString(s.text + "\r\n")
		case "C<":
			pending.WriteString(s.text)
		case "S:":
			flush()
			got, err := r.ReadString('\n')
			if s.text == "<eof>" {
				if err == nil {
					t.Fatalf("%s: want the connection closed, got %q", where, got)
				}
				if !errors.Is(err, io.EOF) && !isReset(err) {
					t.Fatalf("%s: want EOF, got %v", where, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: want %q, got error %v", where, s.text, err)
			}
			if !strings.HasSuffix(got, "\r\n") {
				t.Fatalf("%s: reply line without CRLF: %q", where, got)
			}
			if !strings.HasPrefix(got, s.text) {
				t.Fatalf("%s: want a line starting %q, got %q", where, s.text, strings.TrimSuffix(got, "\r\n"))
			}
		case "M:":
			flush()
			select {
			case m := <-msgs:
				if s.text != "*" && string(m) != s.text {
					t.Fatalf("%s: message data\n got %q\nwant %q", where, m, s.text)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: no message arrived", where)
			}
		}
	}
	flush()
	select {
	case m := <-msgs:
		t.Fatalf("unexpected message accepted: %q", m)
	default:
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
