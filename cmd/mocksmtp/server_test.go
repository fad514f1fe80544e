package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAPIServerSaysWhereAndHow(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runOnce(t, nil, "-version")
	if code != 0 {
		t.Fatalf("-version: exit %d", code)
	}
	version := strings.TrimSpace(stdout)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)

	tests := []struct {
		name     string
		args     []string
		hostname string
		tls      *serverTLSJSON
		auth     *serverAuthJSON
	}{
		{"defaults", nil, "localhost", nil, nil},
		{"STARTTLS, AUTH required", []string{"-hostname", "mx.test.example", "-tls", "-auth", "user:secret", "-require-auth"}, "mx.test.example",
			&serverTLSJSON{Mode: "starttls", CAURL: "/api/ca.pem"}, &serverAuthJSON{Required: true}},
		{"TLS required", []string{"-require-tls"}, "localhost",
			&serverTLSJSON{Mode: "starttls", Required: true, CAURL: "/api/ca.pem"}, nil},
		// RFC 3207 4: AUTH before TLS would get 530, so it is not offered.
		{"TLS required, AUTH", []string{"-require-tls", "-auth", "user:secret"}, "localhost",
			&serverTLSJSON{Mode: "starttls", Required: true, CAURL: "/api/ca.pem"}, &serverAuthJSON{RequireTLS: true}},
		{"TLS required, mechanisms before TLS", []string{"-require-tls", "-auth", "user:secret", "-auth-mechanisms-before-tls", "PLAIN"}, "localhost",
			&serverTLSJSON{Mode: "starttls", Required: true, CAURL: "/api/ca.pem"}, &serverAuthJSON{}},
		{"AUTH only after TLS", []string{"-require-tls-for-auth", "-oauth-token", "user:token"}, "localhost",
			&serverTLSJSON{Mode: "starttls", CAURL: "/api/ca.pem"}, &serverAuthJSON{RequireTLS: true}},
		{"any credentials", []string{"-auth-any"}, "localhost", nil, &serverAuthJSON{AcceptAny: true}},
		{"implicit TLS", []string{"-implicit-tls", "-auth", "user:secret"}, "localhost",
			&serverTLSJSON{Mode: "implicit", Required: true, CAURL: "/api/ca.pem"}, &serverAuthJSON{}},
		{"own certificate", []string{"-cert", certFile, "-key", keyFile}, "localhost",
			&serverTLSJSON{Mode: "starttls"}, nil},
		{"a -PLUS mechanism", []string{"-auth", "user:secret", "-auth-mechanisms", "plain,scram-sha-256-plus"}, "localhost",
			&serverTLSJSON{Mode: "starttls", CAURL: "/api/ca.pem"}, &serverAuthJSON{}},
		// A -PLUS mechanism is offered only over TLS: with no other, no
		// AUTH before TLS.
		// A list with spaces, as the other list flags take it.
		{"-PLUS and others, spaced", []string{"-auth", "user:secret", "-auth-mechanisms", "PLAIN, SCRAM-SHA-256-PLUS"}, "localhost",
			&serverTLSJSON{Mode: "starttls", CAURL: "/api/ca.pem"}, &serverAuthJSON{}},
		{"-PLUS mechanisms only", []string{"-auth", "user:secret", "-auth-mechanisms", "SCRAM-SHA-256-PLUS"}, "localhost",
			&serverTLSJSON{Mode: "starttls", CAURL: "/api/ca.pem"}, &serverAuthJSON{RequireTLS: true}},
		{"-PLUS mechanisms only, in any case, AUTH required", []string{"-auth", "user:secret", "-auth-mechanisms", "scram-sha-1-plus,Scram-Sha-256-Plus", "-require-auth"}, "localhost",
			&serverTLSJSON{Mode: "starttls", CAURL: "/api/ca.pem"}, &serverAuthJSON{Required: true, RequireTLS: true}},
		{"-PLUS mechanisms, others before TLS", []string{"-auth", "user:secret", "-auth-mechanisms", "SCRAM-SHA-256-PLUS", "-auth-mechanisms-before-tls", "PLAIN"}, "localhost",
			&serverTLSJSON{Mode: "starttls", CAURL: "/api/ca.pem"}, &serverAuthJSON{}},
		{"-PLUS mechanisms only, implicit TLS", []string{"-implicit-tls", "-auth", "user:secret", "-auth-mechanisms", "SCRAM-SHA-256-PLUS"}, "localhost",
			&serverTLSJSON{Mode: "implicit", Required: true, CAURL: "/api/ca.pem"}, &serverAuthJSON{RequireTLS: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := start(t, nil, tt.args...)
			var got serverJSON
			getJSON(t, p, "/api/server", 200, &got)
			host, port, err := net.SplitHostPort(p.smtp) // as the log says
			if err != nil {
				t.Fatal(err)
			}
			portN, _ := strconv.Atoi(port)
			want := serverJSON{Version: version, SMTPAddr: p.smtp, SMTPHost: host, SMTPPort: portN,
				Hostname: tt.hostname, TLS: tt.tls, Auth: tt.auth, Seed: got.Seed}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GET /api/server (-want +got):\n%s", diff)
			}
			if _, err := strconv.ParseInt(got.Seed, 10, 64); err != nil {
				t.Errorf("seed %q: %v", got.Seed, err)
			}
			// What it says is what a client meets at the address it gives.
			meetsTheWire(t, p, got)
		})
	}
}

// meetsTheWire connects to the SMTP address that GET /api/server gave and
// checks that the server is as it said: its greeting's name, TLS from the
// first byte or STARTTLS offered, AUTH offered (before TLS), MAIL refused
// before TLS or AUTH when they are required.
func meetsTheWire(t *testing.T, p *proc, s serverJSON) {
	t.Helper()
	addr := net.JoinHostPort(s.SMTPHost, strconv.Itoa(s.SMTPPort))
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	var c net.Conn
	var err error
	implicit := s.TLS != nil && s.TLS.Mode == "implicit"
	if implicit {
		pool, _ := caFromAPI(t, p)
		c, err = tls.DialWithDialer(dialer, "tcp", addr, &tls.Config{RootCAs: pool})
	} else {
		c, err = dialer.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := textproto.NewConn(c)
	if _, msg, err := tc.ReadResponse(220); err != nil || msg != s.Hostname+" ESMTP mocksmtp" {
		t.Errorf("greeting %q (%v), want the hostname %q", msg, err, s.Hostname)
	}
	reply := func(cmd string) (int, string) {
		t.Helper()
		if err := tc.PrintfLine("%s", cmd); err != nil {
			t.Fatal(err)
		}
		code, msg, err := tc.ReadResponse(0)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return code, msg
	}
	_, ehlo := reply("EHLO client.example")
	has := make(map[string]bool)
	for _, l := range strings.Split(ehlo, "\n")[1:] {
		has[strings.Fields(l)[0]] = true
	}
	if want := s.TLS != nil && s.TLS.Mode == "starttls"; has["STARTTLS"] != want {
		t.Errorf("EHLO reply %q offers STARTTLS: %v, want %v", ehlo, has["STARTTLS"], want)
	}
	if want := s.Auth != nil && (implicit || !s.Auth.RequireTLS); has["AUTH"] != want {
		t.Errorf("EHLO reply %q offers AUTH: %v, want %v", ehlo, has["AUTH"], want)
	}
	want := 250
	if s.TLS != nil && s.TLS.Required && !implicit || s.Auth != nil && s.Auth.Required {
		want = 530
	}
	if code, msg := reply("MAIL FROM:<app@example.com>"); code != want {
		t.Errorf("MAIL: %d %s, want %d", code, msg, want)
	}
	reply("QUIT")
}

// README's example answer of GET /api/server has the keys of the real
// one, in its order.
func TestREADMEServerExampleHasTheKeysInOrder(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, example, ok := strings.Cut(string(readme), "`GET /api/server`\nanswers `")
	example, _, ok2 := strings.Cut(example, "`")
	if !ok || !ok2 {
		t.Fatal("README has no example answer of GET /api/server")
	}
	answer, err := json.Marshal(serverJSON{TLS: &serverTLSJSON{CAURL: "/api/ca.pem"}})
	if err != nil {
		t.Fatal(err)
	}
	keys := func(s string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`"(\w+)":`).FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		return out
	}
	if diff := cmp.Diff(keys(string(answer)), keys(example)); diff != "" {
		t.Errorf("README's GET /api/server keys (-real +README):\n%s", diff)
	}
}

func TestAPIServerOnIPv6(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback on this machine: %v", err)
	}
	ln.Close()
	p := start(t, nil, "-listen", "[::1]:0")
	var got serverJSON
	getJSON(t, p, "/api/server", 200, &got)
	if got.SMTPAddr != p.smtp || got.SMTPHost != "::1" || got.SMTPAddr != net.JoinHostPort("::1", strconv.Itoa(got.SMTPPort)) {
		t.Errorf("GET /api/server: smtpAddr %q, smtpHost %q, smtpPort %d; want [::1]:port as the log says (%s)", got.SMTPAddr, got.SMTPHost, got.SMTPPort, p.smtp)
	}
	meetsTheWire(t, p, got)
}

// The seed that GET /api/server gives is the one sessions note, and
// -seed with it replays them.
func TestAPIServerSeedReplaysARun(t *testing.T) {
	t.Parallel()
	seedOf := func(p *proc) string {
		t.Helper()
		var s serverJSON
		getJSON(t, p, "/api/server", 200, &s)
		return s.Seed
	}
	// noted returns the seed that a session's transcript notes, once a
	// fault of chance is in the script.
	noted := func(p *proc) string {
		t.Helper()
		if res, b := do(t, p, "PUT", "/api/faults", `[{"at": "RCPT", "withProbability": 0.5, "reply": "451 4.3.0 maybe later"}]`); res.StatusCode != 200 {
			t.Fatalf("PUT /api/faults: %d %s", res.StatusCode, b)
		}
		openSession(t, p.smtp).Close()
		var ss []sessionJSON
		getJSON(t, p, "/api/wait/sessions?count=1&timeout=20s", 200, &ss)
		var s sessionJSON
		getJSON(t, p, "/api/sessions/"+strconv.Itoa(ss[0].ID), 200, &s)
		for _, l := range s.Transcript {
			if rest, ok := strings.CutPrefix(l.Text, "faults: random seed "); ok && l.Dir == "*" {
				return strings.Fields(rest)[0]
			}
		}
		t.Fatalf("no seed noted in the transcript: %+v", s.Transcript)
		return ""
	}

	random := start(t, nil)
	seed := seedOf(random)
	if got := noted(random); got != seed {
		t.Errorf("the session notes seed %s, GET /api/server says %s", got, seed)
	}
	// 2^53+1, which a JavaScript number would round.
	for _, s := range []string{seed, "-9007199254740993"} {
		replay := start(t, nil, "-seed", s)
		if got := seedOf(replay); got != s {
			t.Errorf("-seed %s: GET /api/server says %s", s, got)
		}
		if got := noted(replay); got != s {
			t.Errorf("-seed %s: the session notes seed %s", s, got)
		}
	}
}

// A suite that starts the program on free ports finds both in the file
// of -addr-file, written whole once the program listens, and gone when
// it stops.
func TestAddrFileHoldsBothAddresses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "mocksmtp.json")
	p := startNoWait(t, nil, "-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-addr-file", file, "-quiet")
	logged := p.stderr.waitFor(t, listeningRE) // after the file is written
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var addrs addrFileJSON
	if err := json.Unmarshal(b, &addrs); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if addrs.SMTPAddr != logged[1] || addrs.HTTPAddr != logged[2] {
		t.Fatalf("the file says %+v, the log line %q", addrs, logged[0])
	}

	// Both work: the API at httpAddr, mail to smtpAddr.
	p.smtp, p.http = addrs.SMTPAddr, addrs.HTTPAddr
	var s serverJSON
	getJSON(t, p, "/api/server", 200, &s)
	if s.SMTPAddr != addrs.SMTPAddr {
		t.Errorf("GET /api/server at httpAddr says smtpAddr %q, the file %q", s.SMTPAddr, addrs.SMTPAddr)
	}
	sendMail(t, addrs.SMTPAddr, "app@example.com", []string{"bob@example.com"}, "Subject: x\r\n\r\nx\r\n")
	getJSON(t, p, "/api/wait?count=1&timeout=20s", 200, nil)

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("after exit, the directory of the file holds %v (%v), want nothing", entries, err)
	}
}

func TestAddrFileWithoutHTTP(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "mocksmtp.json")
	p := startNoWait(t, nil, "-listen", "127.0.0.1:0", "-http", "", "-addr-file", file)
	logged := p.stderr.waitFor(t, listeningRE)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"smtpAddr":"` + logged[1] + `","httpAddr":""}` + "\n"; string(b) != want {
		t.Errorf("the file holds %q, want %q", b, want)
	}
	if got := greeting(t, logged[1]); !strings.HasPrefix(got, "220 ") {
		t.Errorf("greeting at the file's smtpAddr: %q", got)
	}
}

// An empty -addr-file made beforehand (mktemp, as a suite makes a file
// name of its own) is no other program's: the program fills it without
// the warning that it replaces another's, and removes it at exit.
func TestAddrFileMadeEmptyBeforehand(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "mocksmtp.json")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startNoWait(t, nil, "-listen", "127.0.0.1:0", "-http", "", "-addr-file", file)
	logged := p.stderr.waitFor(t, listeningRE)
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), logged[1]) {
		t.Fatalf("the file holds %q (%v), want the addresses", b, err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, p.stderr)
	}
	if strings.Contains(p.stderr.String(), "replacing the -addr-file") {
		t.Errorf("the program warns it replaced another program's file, an empty one made beforehand; stderr:\n%s", p.stderr)
	}
	if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after the exit, the file: %v, want it removed", err)
	}
}

// Two programs given the same -addr-file: the second replaces the file
// (saying so), and each removes it at exit only while it holds that
// program's addresses, whichever stops first. The first used to remove
// the second's file, which its suite then waited for in vain.
func TestAddrFileSharedByTwoPrograms(t *testing.T) {
	t.Parallel()
	for _, secondStopsFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("second stops first %v", secondStopsFirst), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			file := filepath.Join(dir, "mocksmtp.json")
			args := []string{"-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-addr-file", file, "-quiet"}
			holds := func(p *proc) {
				t.Helper()
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if want := `{"smtpAddr":"` + p.smtp + `","httpAddr":"` + p.http + `"}` + "\n"; string(b) != want {
					t.Fatalf("the file holds %q, want %q", b, want)
				}
			}
			listening := func(p *proc) {
				t.Helper()
				m := p.stderr.waitFor(t, listeningRE) // after the file is written
				p.smtp, p.http = m[1], m[2]
			}
			stop := func(p *proc) {
				t.Helper()
				if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				if code := p.wait(t, 10*time.Second); code != 0 {
					t.Fatalf("exit %d; stderr:\n%s", code, p.stderr)
				}
			}
			first := startNoWait(t, nil, args...)
			listening(first)
			holds(first)
			second := startNoWait(t, nil, args...)
			listening(second)
			holds(second)
			if !strings.Contains(second.stderr.String(), "replacing the -addr-file") {
				t.Errorf("the second program does not say it replaced the file; stderr:\n%s", second.stderr)
			}
			if secondStopsFirst {
				stop(second)
				if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("after the second program's exit, the file: %v, want it removed", err)
				}
				stop(first)
			} else {
				stop(first)
				holds(second) // still there, still the second's
				if !strings.Contains(first.stderr.String(), "leaving the -addr-file") {
					t.Errorf("the first program does not say it left the file; stderr:\n%s", first.stderr)
				}
				if got := greeting(t, second.smtp); !strings.HasPrefix(got, "220 ") {
					t.Errorf("greeting at the file's smtpAddr: %q", got)
				}
				stop(second)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("after both exits, the directory of the file holds %v (%v), want nothing", entries, err)
			}
		})
	}
}

func TestAddrFileThatCannotBeWrittenExits1(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "no such directory", "mocksmtp.json")
	code, _, stderr := runOnce(t, nil, "-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-addr-file", file)
	if code != 1 || !strings.HasPrefix(stderr, "mocksmtp: -addr-file: ") || strings.Contains(stderr, "listening") {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 naming -addr-file, before listening", code, stderr)
	}
}
