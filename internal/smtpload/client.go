// Package smtpload is the minimal SMTP client that mocksmtp's benchmarks
// and the comparison harness in bench/ drive servers with: commands one
// at a time over a raw socket, as most client libraries send them, each
// reply's code checked.
package smtpload

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
)

// Client is one SMTP connection. W may be written to directly to pipeline.
type Client struct {
	Conn net.Conn
	R    *bufio.Reader
	W    *bufio.Writer
}

// New wraps conn with buffers of bufSize octets (0: bufio's default).
func New(conn net.Conn, bufSize int) *Client {
	if bufSize <= 0 {
		return &Client{Conn: conn, R: bufio.NewReader(conn), W: bufio.NewWriter(conn)}
	}
	return &Client{Conn: conn, R: bufio.NewReaderSize(conn, bufSize), W: bufio.NewWriterSize(conn, bufSize)}
}

// Dial connects, reads the greeting and says EHLO. The connection's
// deadline is ctx's, if it has one.
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c := New(conn, 0)
	if err := c.Expect(220); err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := c.Cmd("EHLO bench.example.com", 250); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Expect reads one reply, all its lines, and checks its code.
func (c *Client) Expect(code int) error {
	want := strconv.Itoa(code)
	for {
		l, err := c.R.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("want %d, got %q: %w", code, l, err)
		}
		if len(l) < 4 || string(l[:3]) != want {
			return fmt.Errorf("want %d, got %q", code, l)
		}
		if l[3] != '-' {
			return nil
		}
	}
}

// Cmd sends one command line and checks the reply's code.
func (c *Client) Cmd(line string, code int) error {
	c.W.WriteString(line)
	c.W.WriteString("\r\n")
	if err := c.W.Flush(); err != nil {
		return err
	}
	if err := c.Expect(code); err != nil {
		return fmt.Errorf("%s: %w", line, err)
	}
	return nil
}

// Send sends one message from alice to bob; msg must be dot-stuffed and
// end in CRLF.
func (c *Client) Send(msg []byte) error {
	if err := c.Cmd("MAIL FROM:<alice@example.com>", 250); err != nil {
		return err
	}
	if err := c.Cmd("RCPT TO:<bob@example.com>", 250); err != nil {
		return err
	}
	if err := c.Cmd("DATA", 354); err != nil {
		return err
	}
	c.W.Write(msg)
	c.W.WriteString(".\r\n")
	if err := c.W.Flush(); err != nil {
		return err
	}
	if err := c.Expect(250); err != nil {
		return fmt.Errorf("end of data: %w", err)
	}
	return nil
}

// StartTLS upgrades the connection with STARTTLS and says EHLO again.
func (c *Client) StartTLS(cfg *tls.Config) error {
	if err := c.Cmd("STARTTLS", 220); err != nil {
		return err
	}
	tc := tls.Client(c.Conn, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.Conn, c.R, c.W = tc, bufio.NewReader(tc), bufio.NewWriter(tc)
	return c.Cmd("EHLO bench.example.com", 250)
}

// Quit says QUIT, waits for 221 and closes.
func (c *Client) Quit() error {
	err := c.Cmd("QUIT", 221)
	if cerr := c.Conn.Close(); err == nil {
		err = cerr
	}
	return err
}
