package main

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mocksmtp/mocksmtp/internal/smtpload"
)

// scenario is one load: how many messages of what size, over how many
// concurrent sessions, with a new connection for each message or not,
// pipelined or one command at a time, and the load generator it asks
// for (smtp-source when installed, else the Go one; always the Go one
// when pipelined: smtp-source does not pipeline).
type scenario struct {
	sessions   int
	messages   int
	size       int  // octets of payload, headers not included
	persistent bool // all of a session's messages over one connection
	pipelined  bool // commands sent without waiting for replies, as RFC 2920 allows
}

func (sc scenario) String() string {
	conn := "a new connection for each message"
	if sc.persistent {
		conn = "one connection per session"
	}
	sessions := fmt.Sprintf("%d sessions", sc.sessions)
	if sc.sessions == 1 {
		sessions = "1 session"
	}
	pipe := "one command at a time"
	if sc.pipelined {
		pipe = "pipelined"
	}
	return fmt.Sprintf("%s, %d messages of %d octets, %s, %s", sessions, sc.messages, sc.size, conn, pipe)
}

// A loader sends a scenario's messages to addr and returns how many
// octets of message it sent in all, or -1 when it cannot tell.
type loader interface {
	name() string
	load(ctx context.Context, addr string, sc scenario) (octets int64, err error)
}

// smtpSource is Postfix's smtp-source, the C load generator.
type smtpSource struct{ path string }

func (l smtpSource) name() string { return "smtp-source" }

func (l smtpSource) load(ctx context.Context, addr string, sc scenario) (int64, error) {
	args := []string{
		"-s", strconv.Itoa(sc.sessions), "-m", strconv.Itoa(sc.messages), "-l", strconv.Itoa(sc.size),
		"-M", "bench.example.com", "-f", "alice@example.com", "-t", "bob@example.com",
	}
	if sc.persistent {
		args = append(args, "-d")
	}
	args = append(args, addr)
	out, err := exec.CommandContext(ctx, l.path, args...).CombinedOutput()
	if err != nil {
		return -1, fmt.Errorf("smtp-source: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return -1, nil
}

// goLoader is the pure-Go load generator. One command at a time, it
// speaks as smtp-source does (no RSET between messages, but EHLO rather
// than HELO, as Go clients do); pipelined, it sends MAIL, RCPT and DATA
// in one write, and after a message's final dot the next MAIL, RCPT and
// DATA (or QUIT) in the same write, reading the replies once they are
// due, as a pipelining MTA does.
type goLoader struct{}

func (goLoader) name() string { return "Go load generator" }

// loadMessage returns the message the Go load generator sends: headers
// and size octets of text in CRLF lines.
func loadMessage(size int) []byte {
	var b strings.Builder
	b.WriteString("From: <alice@example.com>\r\nTo: <bob@example.com>\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\nMessage-Id: <load@bench.example.com>\r\n" +
		"Subject: load\r\n\r\n")
	body := b.Len()
	const line = "La de da de da 1234567890 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRST\r\n"
	for b.Len()-body+len(line) <= size {
		b.WriteString(line)
	}
	for b.Len()-body < size-2 {
		b.WriteByte('x')
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func (goLoader) load(ctx context.Context, addr string, sc scenario) (int64, error) {
	msg := loadMessage(sc.size)
	var next atomic.Int64 // messages claimed so far
	claim := func() bool { return next.Add(1) <= int64(sc.messages) }
	errs := make(chan error, sc.sessions)
	var wg sync.WaitGroup
	for range sc.sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sc.pipelined {
				errs <- goPipelined(ctx, addr, sc.persistent, msg, claim)
			} else {
				errs <- goSession(ctx, addr, sc.persistent, msg, claim)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return -1, err
		}
	}
	return int64(sc.messages) * int64(len(msg)), nil
}

// goSession sends messages while claim allows, one command at a time,
// over one connection or a connection each.
func goSession(ctx context.Context, addr string, persistent bool, msg []byte, claim func() bool) error {
	var c *smtpload.Client
	defer func() {
		if c != nil {
			c.Conn.Close()
		}
	}()
	for claim() {
		if c == nil {
			var err error
			if c, err = smtpload.Dial(ctx, addr); err != nil {
				return err
			}
		}
		if err := c.Send(msg); err != nil {
			return err
		}
		if !persistent {
			err := c.Quit()
			c = nil
			if err != nil {
				return err
			}
		}
	}
	if c != nil {
		err := c.Quit()
		c = nil
		return err
	}
	return nil
}

// The commands of one transaction, pipelined in one write.
const transaction = "MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"

// goPipelined sends messages while claim allows, pipelined, over one
// connection or a connection each.
func goPipelined(ctx context.Context, addr string, persistent bool, msg []byte, claim func() bool) error {
	more := claim()
	for more {
		c, err := smtpload.Dial(ctx, addr)
		if err != nil {
			return err
		}
		err = pipelinedConn(c, persistent, msg, claim)
		c.Conn.Close()
		if err != nil || persistent {
			return err // persistent: the connection took every claim
		}
		more = claim()
	}
	return nil
}

// pipelinedConn sends, over c, the message already claimed and, when
// persistent, the others that claim allows, then QUIT.
func pipelinedConn(c *smtpload.Client, persistent bool, msg []byte, claim func() bool) error {
	c.W.WriteString(transaction)
	if err := c.W.Flush(); err != nil {
		return err
	}
	for {
		for _, code := range []int{250, 250, 354} {
			if err := c.Expect(code); err != nil {
				return fmt.Errorf("pipelined transaction: %w", err)
			}
		}
		c.W.Write(msg)
		c.W.WriteString(".\r\n")
		more := persistent && claim()
		if more {
			c.W.WriteString(transaction)
		} else {
			c.W.WriteString("QUIT\r\n")
		}
		if err := c.W.Flush(); err != nil {
			return err
		}
		if err := c.Expect(250); err != nil {
			return fmt.Errorf("end of data: %w", err)
		}
		if !more {
			return c.Expect(221)
		}
	}
}
