package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mocksmtp/mocksmtp/internal/smtpload"
)

// TestMain lets the test binary become one of the servers, as the harness
// re-executes itself (here: the test binary) to run each server.
func TestMain(m *testing.M) {
	if name := os.Getenv(serverEnv); name != "" {
		if err := serveChild(name); err != nil {
			os.Stderr.WriteString("bench server: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestQuick runs the harness as -quick does: every Go server and the
// program under the Go load generator, with small counts. mocksmtp, as a
// program and as a library, must store every message under every load,
// and every server must have a row in every table.
func TestQuick(t *testing.T) {
	var out, errs bytes.Buffer
	if status := harness([]string{"-quick"}, &out, &errs); status != 0 {
		t.Fatalf("harness exited %d\nstdout:\n%s\nstderr:\n%s", status, &out, &errs)
	}
	tables := strings.Split(out.String(), "\n## ")[1:]
	if len(tables) != 3 {
		t.Fatalf("want 3 tables, got %d:\n%s", len(tables), &out)
	}
	for _, table := range tables {
		rows := map[string]string{}
		for _, l := range strings.Split(table, "\n") {
			if f := strings.Split(l, "|"); len(f) > 2 && strings.HasPrefix(l, "| ") {
				rows[strings.TrimSpace(f[1])] = l
			}
		}
		for _, name := range []string{"mocksmtp-program", "mocksmtp-library", "go-smtp-mock", "go-smtp"} {
			if rows[name] == "" {
				t.Errorf("no row for %s in:\n%s", name, table)
			}
		}
		for _, name := range []string{"mocksmtp-program", "mocksmtp-library", "go-smtp"} {
			if !strings.HasSuffix(rows[name], "200/200, 0.8 MB ✓ |") {
				t.Errorf("%s must store all 200 messages:\n%s", name, table)
			}
		}
		if !strings.Contains(table, "Fastest Go peer: ") || !strings.Contains(table, "µs |") {
			t.Errorf("no comparison with the fastest Go peer, or no CPU per message:\n%s", table)
		}
	}
	if !strings.Contains(out.String(), "other processes kept") {
		t.Errorf("no note on how busy the machine was:\n%s", &out)
	}
}

func TestFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{{"-m", "0"}, {"-s", "0"}, {"-ps", "0"}, {"-l", "1"}, {"-rounds", "0"}, {"-peers", "nope"}, {"-load", "nope"}, {"-timeout", "0s"}} {
		var out, errs bytes.Buffer
		if status := harness(args, &out, &errs); status != 2 {
			t.Errorf("%v: status %d, want 2; stderr: %s", args, status, &errs)
		}
	}
}

func TestLoadMessageSize(t *testing.T) {
	for _, size := range []int{16, 100, 4096, 10000} {
		msg := loadMessage(size)
		_, body, ok := strings.Cut(string(msg), "\r\n\r\n")
		if !ok || len(body) != size || !strings.HasSuffix(body, "\r\n") {
			t.Errorf("size %d: body of %d octets", size, len(body))
		}
		for _, l := range strings.Split(body, "\r\n") {
			if strings.HasPrefix(l, ".") {
				t.Errorf("size %d: a line needs dot-stuffing", size)
			}
		}
	}
}

// TestServerThatExitsIsReported checks that a server process that exits
// before it is ready fails its run at once, not at the run's timeout.
func TestServerThatExitsIsReported(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = goPeer{server: "no-such-server", exe: exe}.start(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "exited") {
		t.Fatalf("start = %v (context: %v), want an error saying the server exited", err, ctx.Err())
	}
}

// BenchmarkLifecycle measures what a test pays for an SMTP server of each
// kind: start it, one session (greeting, EHLO, QUIT), close it. The main
// module's BenchmarkLifecycle compares mocksmtp with httptest, whose
// request is one round trip where an SMTP session is three; here the
// peers speak the same protocol.
func BenchmarkLifecycle(b *testing.B) {
	for _, peer := range []struct {
		name  string
		start func() (goServer, error)
	}{{"mocksmtp", startMocksmtp}, {"go-smtp", startGoSMTP}, {"go-smtp-mock", startSMTPMock}} {
		b.Run(peer.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				srv, err := peer.start()
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				c, err := smtpload.Dial(ctx, srv.addr())
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if err := c.Quit(); err != nil {
					b.Fatal(err)
				}
				srv.close()
			}
		})
	}
}
