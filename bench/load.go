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
// concurrent sessions, with a new connection for each message or not.
type scenario struct {
	sessions   int
	messages   int
	size       int  // octets of payload, headers not included
	persistent bool // all of a session's messages over one connection
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
	return fmt.Sprintf("%s, %d messages of %d octets, %s", sessions, sc.messages, sc.size, conn)
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

// goLoader is a pure-Go load generator that speaks SMTP as smtp-source
// does: one command at a time, no pipelining, no RSET between messages,
// but EHLO rather than HELO, as Go clients do.
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
			errs <- goSession(ctx, addr, sc.persistent, msg, claim)
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

// goSession sends messages while claim allows, over one connection or a
// connection each.
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
