package smtpd_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// session runs the engine with an accept-all driver over net.Pipe, sends
// input, closes, and returns the accepted messages. It must always end.
func session(t *testing.T, cfg smtpd.Config, input []byte) [][]byte {
	srvConn, cliConn := net.Pipe()
	var msgs [][]byte
	done := make(chan error, 1)
	go func() {
		c := smtpd.NewConn(srvConn, cfg)
		defer c.Close(nil)
		for {
			ev, err := c.Next(context.Background())
			if err != nil {
				done <- err
				return
			}
			if (ev.Err == nil) != (ev.Reason == smtpd.ReasonNone) {
				t.Errorf("%v event with Err %v and Reason %v", ev.Kind, ev.Err, ev.Reason)
			}
			if ev.Kind == smtpd.Message && ev.Err == nil {
				msgs = append(msgs, bytes.Clone(ev.Data))
			}
		}
	}()
	go io.Copy(io.Discard, cliConn)
	cliConn.Write(input)
	cliConn.Close()
	<-done
	return msgs
}

func FuzzCommands(f *testing.F) {
	for _, s := range []string{
		"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
		"HELO x\r\nMAIL FROM:<a@b.c> SIZE=1\r\nBDAT 3 LAST\r\nabc",
		"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 3\r\nabcBDAT 1 LAST\r\nd",
		"NOOP\nRSET\rQUIT\x00\r\n", "AUTH PLAIN\r\n*\r\n", "STARTTLS\r\n",
		// Lines over the 16 KiB read buffer, whose tails must not run as commands.
		"NOOP " + strings.Repeat("x", 16379) + "RSET\r\nQUIT\r\n",
		"EHLO x\r\nAUTH PLAIN\r\n" + strings.Repeat("A", 16384) + "AHUAcA==\r\nQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n" + strings.Repeat("x", 16384) + ".\r\n" +
			"MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nsmuggled\r\n.\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		for _, m := range session(t, smtpd.Config{MaxMessageBytes: 1 << 16}, input) {
			if len(m) > 1<<16 {
				t.Fatalf("message of %d octets over the limit", len(m))
			}
		}
	})
}

// unstuffModel is the reference DATA reader: the data ends at the first
// CRLF "." CRLF, and rest is what follows; it is valid when every line
// ends in CRLF, has no other CR or LF and fits in 1000 octets; leading
// dots are removed.
func unstuffModel(body []byte) (data, rest []byte, valid, ended bool) {
	end := -1
	if bytes.HasPrefix(body, []byte(".\r\n")) {
		end = 0
	} else if i := bytes.Index(body, []byte("\r\n.\r\n")); i >= 0 {
		end = i + 2
	}
	if end < 0 {
		return nil, nil, false, false
	}
	valid = true
	for _, l := range bytes.SplitAfter(body[:end], []byte("\r\n")) {
		if len(l) == 0 {
			continue
		}
		if len(l) > 1000 || bytes.ContainsAny(bytes.TrimSuffix(l, []byte("\r\n")), "\r\n") || !bytes.HasSuffix(l, []byte("\r\n")) {
			valid = false
		}
		data = append(data, bytes.TrimPrefix(l, []byte("."))...)
	}
	return data, body[end+3:], valid, true
}

func FuzzDataReader(f *testing.F) {
	for _, s := range []string{"hi\r\n.\r\n", "..x\r\n.\r\n", "a\n.\nb\r\n.\r\n", "a\r\n.\nQUIT\r\n.\r\n",
		"a\r.\r\n.\r\n", "\r\n.\r\n", ".\r\n", "x\r\n..\r\n.\r\n",
		// Lines over the 16 KiB read buffer, ending in what would end the
		// data if the line's tail were taken as a line.
		strings.Repeat("x", 16384) + ".\r\nQUIT\r\n.\r\n",
		strings.Repeat("x", 16383) + "\r\n.\r\n",
		strings.Repeat("y", 32768) + ".\r\nRSET\r\n.\r\n",
		strings.Repeat("z", 65543) + "\r\n" + strings.Repeat("z", 998) + "\r\n.\r\n"} {
		f.Add([]byte(s))
	}
	head := "HELO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n"
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs := session(t, smtpd.Config{}, append([]byte(head), body...))
		want, rest, valid, ended := unstuffModel(body)
		switch {
		case ended && valid:
			if len(msgs) == 0 || !bytes.Equal(msgs[0], want) {
				t.Fatalf("sent %q: want %q accepted, got %q", body, want, msgs)
			}
		case ended && !valid:
			if len(msgs) > 0 && bytes.Equal(msgs[0], want) {
				t.Fatalf("sent %q: accepted invalid data %q", body, want)
			}
			// A message accepted after refused data must come from a
			// transaction sent after its end: one ended early was smuggled.
			upper := bytes.ToUpper(rest)
			if len(msgs) > 0 && !bytes.Contains(upper, []byte("DATA")) && !bytes.Contains(upper, []byte("BDAT")) {
				t.Fatalf("sent %.200q: accepted %.200q, though no transaction follows the data", body, msgs)
			}
		case !ended:
			if len(msgs) > 0 {
				t.Fatalf("sent %q without an end of data: accepted %q", body, msgs)
			}
		}
	})
}
