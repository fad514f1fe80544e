package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

// bin is the mocksmtp program, built once per test run by TestMain.
var bin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mocksmtp-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "mocksmtp")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building mocksmtp:", err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			return 1
		}
	}
	return code
}

// output is a process's stdout or stderr, safe to read while written,
// with a wait for text to appear.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on each write
}

func newOutput() *output { return &output{changed: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// waitFor waits until the output matches re, and returns the match.
func (o *output) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		o.mu.Lock()
		m := re.FindStringSubmatch(o.buf.String())
		ch := o.changed
		o.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("output never matched %v; it is:\n%s", re, o.String())
		}
	}
}

// proc is a running mocksmtp program.
type proc struct {
	cmd            *exec.Cmd
	smtp, http     string // the addresses it listens on
	stdout, stderr *output
	exited         chan struct{}
	err            error // from Wait, once exited is closed
}

var listeningRE = regexp.MustCompile(`msg=listening smtp=(\S+)(?: http=(\S+))?`)

// start runs mocksmtp with args after "-listen 127.0.0.1:0 -http
// 127.0.0.1:0" and waits until it listens. env adds environment
// variables. The process gets SIGTERM at cleanup.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := startNoWait(t, env, append([]string{"-listen", "127.0.0.1:0", "-http", "127.0.0.1:0"}, args...)...)
	m := p.stderr.waitFor(t, listeningRE)
	p.smtp, p.http = m[1], m[2]
	return p
}

// startNoWait runs mocksmtp with exactly args.
func startNoWait(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: newOutput(), stderr: newOutput(), exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(cleanEnv(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
			t.Errorf("mocksmtp did not exit on SIGTERM within 10 s; stderr:\n%s", p.stderr)
		}
		if t.Failed() {
			t.Logf("mocksmtp stderr:\n%s\nstdout:\n%s", p.stderr, p.stdout)
		}
	})
	return p
}

// cleanEnv is the environment without MOCKSMTP_ variables (and without
// the race detector's one-second pause at exit).
func cleanEnv() []string {
	env := []string{"GORACE=atexit_sleep_ms=0"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOCKSMTP_") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	return env
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("mocksmtp still runs after %v; stderr:\n%s", within, p.stderr)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("wait: %v", p.err)
	}
	return 0
}

// runOnce runs mocksmtp to completion and returns its exit code and
// outputs.
func runOnce(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startNoWait(t, env, args...)
	code = p.wait(t, 10*time.Second)
	return code, p.stdout.String(), p.stderr.String()
}

// sendMail sends msg with net/smtp.
func sendMail(t *testing.T, addr, from string, to []string, msg string) {
	t.Helper()
	if err := smtp.SendMail(addr, nil, from, to, []byte(msg)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
}

// sendOn sends a message over an open client, without QUIT.
func sendOn(c *smtp.Client, from, to, msg string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return err
	}
	return w.Close()
}

// sendOver sends one message over c (sendOn), and fails t if it is not
// accepted.
func sendOver(t *testing.T, c *smtp.Client, from, to, msg string) {
	t.Helper()
	if err := sendOn(c, from, to, msg); err != nil {
		t.Fatal(err)
	}
}

func TestVersionPrintsAndExits(t *testing.T) {
	t.Parallel()
	code, stdout, _ := runOnce(t, nil, "-version")
	if code != 0 || !strings.HasPrefix(stdout, "mocksmtp ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("-version: exit %d, stdout %q; want 0 and \"mocksmtp <version> ... go1.x\"", code, stdout)
	}
}

func TestBadUsageExits2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		args []string
		want string // in stderr
	}{
		{"unknown flag", nil, []string{"-nope"}, "flag provided but not defined: -nope"},
		{"misspelt flag", nil, []string{"-lisen", "127.0.0.1:0"}, "mocksmtp: flag provided but not defined: -lisen (did you mean \"-listen\"?); mocksmtp -h lists the flags\n"},
		{"misspelt flag with =", nil, []string{"--max-recipient=5"}, `flag provided but not defined: -max-recipient (did you mean "-max-recipients"?)`},
		{"extra argument", nil, []string{"extra"}, "unexpected arguments"},
		{"bad log format", nil, []string{"-log-format", "xml"}, "-log-format"},
		{"bad log level", nil, []string{"-log-level", "loud"}, `invalid value "loud" for flag -log-level: want debug, info, warn or error`},
		{"bad duration", nil, []string{"-read-timeout", "soon"}, "-read-timeout"},
		{"bad environment value", []string{"MOCKSMTP_MAX_MESSAGE_BYTES=big"}, nil, `mocksmtp: MOCKSMTP_MAX_MESSAGE_BYTES="big": want a whole number`},
		// A bad value says what the flag wants, in a flag as in its
		// environment variable.
		{"bad number", nil, []string{"-max-recipients", "abc"}, `invalid value "abc" for flag -max-recipients: want a whole number`},
		{"bad number in the environment", []string{"MOCKSMTP_MAX_RECIPIENTS=abc"}, nil, `mocksmtp: MOCKSMTP_MAX_RECIPIENTS="abc": want a whole number`},
		{"number out of range", nil, []string{"-retain", "99999999999999999999"}, `invalid value "99999999999999999999" for flag -retain: want a whole number`},
		{"duration without a unit", nil, []string{"-read-timeout", "5"}, `invalid value "5" for flag -read-timeout: want a duration, such as "30s"`},
		{"bad boolean in the environment", []string{"MOCKSMTP_QUIET=yes"}, nil, `mocksmtp: MOCKSMTP_QUIET="yes": want true or false`},
		// A number given is the option's, 0 too, checked as New checks
		// it; left out, the option's default applies.
		{"no recipients", nil, []string{"-max-recipients", "0"}, `invalid value "0" for flag -max-recipients: WithMaxRecipients(0): want a positive number`},
		{"no recipients in the environment", []string{"MOCKSMTP_MAX_RECIPIENTS=0"}, nil, `mocksmtp: MOCKSMTP_MAX_RECIPIENTS="0": WithMaxRecipients(0): want a positive number`},
		{"retain none", nil, []string{"-retain", "0"}, `invalid value "0" for flag -retain: WithRetention(0): want a positive number`},
		{"no time to read", nil, []string{"-read-timeout", "0s"}, `invalid value "0s" for flag -read-timeout: WithReadTimeout(0s): want a positive duration`},
		{"no message bytes", nil, []string{"-max-message-bytes", "0"}, `flag -max-message-bytes: WithMaxMessageBytes(0): want a positive size`},
		{"negative message bytes", nil, []string{"-max-message-bytes", "-5"}, `flag -max-message-bytes: WithMaxMessageBytes(-5): want a positive size`},
		{"no transcript", nil, []string{"-max-transcript-lines", "0"}, `flag -max-transcript-lines: WithMaxTranscriptLines(0): want at least 10 lines`},
		{"transcript of 9 lines", nil, []string{"-max-transcript-lines", "9"}, `flag -max-transcript-lines: WithMaxTranscriptLines(9): want at least 10 lines`},
		// The engine's limits: a positive number, the line limits at most
		// 1 MiB, as New checks WithEngineConfig's fields; smtpd.Config's 0
		// (its default) is the flag left out.
		{"text lines over 1 MiB", nil, []string{"-max-text-line", "1048577"},
			`invalid value "1048577" for flag -max-text-line: WithEngineConfig: MaxTextLine 1048577: want at most 1048576 octets (1 MiB)`},
		{"text lines over 1 MiB in the environment", []string{"MOCKSMTP_MAX_TEXT_LINE=2097152"}, nil,
			`mocksmtp: MOCKSMTP_MAX_TEXT_LINE="2097152": WithEngineConfig: MaxTextLine 2097152: want at most 1048576 octets (1 MiB)`},
		{"command lines over 1 MiB", nil, []string{"-max-command-line", "1048577"},
			`invalid value "1048577" for flag -max-command-line: WithEngineConfig: MaxCommandLine 1048577: want at most 1048576 octets (1 MiB)`},
		{"no text line", nil, []string{"-max-text-line", "0"}, `invalid value "0" for flag -max-text-line: smtpd.Config.MaxTextLine 0: want a positive number`},
		{"negative command line", nil, []string{"-max-command-line", "-1"}, `flag -max-command-line: smtpd.Config.MaxCommandLine -1: want a positive number`},
		{"no junk commands", []string{"MOCKSMTP_MAX_JUNK_COMMANDS=0"}, nil, `mocksmtp: MOCKSMTP_MAX_JUNK_COMMANDS="0": smtpd.Config.MaxJunkCommands 0: want a positive number`},
		{"no bad commands", nil, []string{"-max-bad-commands", "0"}, `flag -max-bad-commands: smtpd.Config.MaxBadCommands 0: want a positive number`},
		{"bad commands not a number", nil, []string{"-max-bad-commands", "many"}, `invalid value "many" for flag -max-bad-commands: want a whole number`},
		{"unknown extension", nil, []string{"-without-extensions", "PIPELINING,STARTTLS"},
			`invalid value "PIPELINING,STARTTLS" for flag -without-extensions: WithoutExtensions: unknown extension "STARTTLS" (want PIPELINING, SIZE,`},
		{"empty extension", nil, []string{"-without-extensions", "SIZE,,DSN"}, `flag -without-extensions: WithoutExtensions: unknown extension ""`},
		{"unknown extension in the environment", []string{"MOCKSMTP_WITHOUT_EXTENSIONS=PIPELINEING"}, nil,
			`MOCKSMTP_WITHOUT_EXTENSIONS="PIPELINEING": WithoutExtensions: unknown extension "PIPELINEING"`},
		{"misspelt rule", nil, []string{"-without-rules", "quit,mesage-id"},
			`flag -without-rules: unknown rule "mesage-id" (did you mean "message-id"?); the rules are: bare-line-ending, dot-stuffing,`},
		{"rule in another case", []string{"MOCKSMTP_WITHOUT_RULES=DKIM"}, nil, `MOCKSMTP_WITHOUT_RULES="DKIM": unknown rule "DKIM" (did you mean "dkim"?)`},
		{"unknown rule", nil, []string{"-without-rules", "politeness"}, `unknown rule "politeness"; the rules are: bare-line-ending,`},
		{"bad boolean", nil, []string{"-reject-nonconforming=maybe"}, `invalid boolean value "maybe" for -reject-nonconforming`},
		{"unknown mechanism before TLS", nil, []string{"-auth", "a:b", "-auth-mechanisms-before-tls", "CRAM-MD6"},
			`flag -auth-mechanisms-before-tls: WithAuthMechanismsBeforeTLS: unknown mechanism "CRAM-MD6"`},
		{"unknown mechanism", nil, []string{"-auth", "a:b", "-auth-mechanisms", "PLAIN, XOAUTH9"},
			`invalid value "PLAIN, XOAUTH9" for flag -auth-mechanisms: WithAuthMechanisms: unknown mechanism "XOAUTH9" (want one of PLAIN, LOGIN,`},
		{"mechanism twice in the environment", []string{"MOCKSMTP_AUTH_MECHANISMS=PLAIN,plain"}, []string{"-auth", "a:b"},
			`MOCKSMTP_AUTH_MECHANISMS="PLAIN,plain": WithAuthMechanisms: PLAIN given twice`},
		{"empty mechanism", nil, []string{"-auth", "a:b", "-auth-mechanisms", "PLAIN,,LOGIN"}, `flag -auth-mechanisms: WithAuthMechanisms: unknown mechanism ""`},
		{"any credentials and an account", nil, []string{"-auth", "a:b", "-auth-any"},
			`flags -auth and -auth-any: -auth-any accepts any password and token, so -auth would check nothing; give one or the other`},
		{"any credentials and a token", []string{"MOCKSMTP_AUTH_ANY=true"}, []string{"-oauth-token", "a:t"},
			`flags -oauth-token and -auth-any: -auth-any accepts any password and token`},
		{"no wait", nil, []string{"-wait-timeout", "0"}, `invalid value "0" for flag -wait-timeout: WithWaitTimeout(0s): want a positive duration`},
		{"a wait past a request's longest", nil, []string{"-wait-timeout", "10m1s"}, `invalid value "10m1s" for flag -wait-timeout: 10m1s: want at most 10m0s, as a wait's timeout=`},
		{"a wait that is no duration", []string{"MOCKSMTP_WAIT_TIMEOUT=soon"}, nil, `MOCKSMTP_WAIT_TIMEOUT="soon": want a duration`},
		{"channel binding before TLS", nil, []string{"-auth", "a:b", "-auth-mechanisms-before-tls", "SCRAM-SHA-256-PLUS"},
			`flag -auth-mechanisms-before-tls: WithAuthMechanismsBeforeTLS: SCRAM-SHA-256-PLUS binds the TLS channel`},
		{"transposed letters in a rule", nil, []string{"-without-rules", "qiut"}, `unknown rule "qiut" (did you mean "quit"?)`},
		{"renamed flag", nil, []string{"-size-limit", "5"}, "mocksmtp: -size-limit is now -max-message-bytes (mocksmtp.WithMaxMessageBytes)\n"},
		{"renamed flag with =", nil, []string{"--show-secrets=true"}, "mocksmtp: -show-secrets is now -without-secret-masking (mocksmtp.WithoutSecretMasking)\n"},
		{"renamed bool flag", nil, []string{"-auth-requires-tls"}, "mocksmtp: -auth-requires-tls is now -require-tls-for-auth (mocksmtp.WithRequireTLSForAuth)\n"},
		{"renamed environment variable", []string{"MOCKSMTP_SHOW_SECRETS=1"}, nil,
			"mocksmtp: MOCKSMTP_SHOW_SECRETS: -show-secrets is now -without-secret-masking (mocksmtp.WithoutSecretMasking): set MOCKSMTP_WITHOUT_SECRET_MASKING\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runOnce(t, tt.env, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, stderr, tt.want)
			}
			if strings.HasPrefix(tt.name, "renamed") && stderr != tt.want {
				t.Errorf("stderr:\n%s\nwant only %q", stderr, tt.want)
			}
		})
	}
}

// A malformed -auth or -oauth-token, in a flag or its environment
// variable, says what it wants without the value, which holds the
// password or token (a CI job's secret, in its log).
func TestBadCredentialFlagShowsNoSecret(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-pw"
	for _, tt := range []struct {
		name      string
		env, args []string
		want      string
	}{
		{"-auth without a user", nil, []string{"-auth", ":" + secret}, "-auth (or MOCKSMTP_AUTH): want user:password"},
		{"MOCKSMTP_AUTH without a user", []string{"MOCKSMTP_AUTH=:" + secret}, nil, "-auth (or MOCKSMTP_AUTH): want user:password"},
		{"-oauth-token without a user", nil, []string{"-oauth-token", ":" + secret}, "-oauth-token (or MOCKSMTP_OAUTH_TOKEN): want user:token"},
		{"MOCKSMTP_OAUTH_TOKEN without a user", []string{"MOCKSMTP_OAUTH_TOKEN=:" + secret}, nil, "-oauth-token (or MOCKSMTP_OAUTH_TOKEN): want user:token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runOnce(t, tt.env, tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) || strings.Contains(stdout+stderr, secret) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and %q, and no %q", code, stdout, stderr, tt.want, secret)
			}
		})
	}
}

// An address that another program has (two mocksmtp on the default
// ports) exits 1 with how to run side by side.
func TestAddressInUseSaysHowToShare(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	for _, args := range [][]string{
		{"-listen", taken, "-http", ""},
		{"-listen", "127.0.0.1:0", "-http", taken},
	} {
		code, _, stderr := runOnce(t, nil, args...)
		want := "address already in use; another program listens there (another mocksmtp?): -listen 127.0.0.1:0 -http 127.0.0.1:0 listen on free ports, and -addr-file FILE writes them as JSON\n"
		if code != 1 || !strings.HasPrefix(stderr, "mocksmtp: ") || !strings.HasSuffix(stderr, want) {
			t.Errorf("%q on a port in use: exit %d, stderr:\n%s\nwant exit 1 ending %q", args, code, stderr, want)
		}
	}
}

func TestRefusesNonLoopbackAddressesWithoutAllowRemote(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, flag, addr string }{
		{"all interfaces, SMTP", "-listen", ":0"},
		{"unspecified IPv4, SMTP", "-listen", "0.0.0.0:0"},
		{"a host name, SMTP", "-listen", "example.com:25"},
		{"all interfaces, HTTP", "-http", ":0"},
		{"unspecified IPv6, HTTP", "-http", "[::]:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", tt.flag, tt.addr}
			code, _, stderr := runOnce(t, nil, args...)
			if code != 1 || !strings.Contains(stderr, "-allow-remote") || !strings.Contains(stderr, tt.flag) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 naming %s and -allow-remote", code, stderr, tt.flag)
			}
		})
	}
}

func TestLoopbackNamesAreAccepted(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		if err := checkLocal("listen", addr, false); err != nil {
			t.Errorf("checkLocal(%q) = %v, want nil", addr, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "MOCKSMTP_") {
			t.Setenv(name, "") // restored after the test
			os.Unsetenv(name)
		}
	}
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.listen, cfg.http, cfg.logFormat, cfg.logLevel.String()}
	want := []string{"127.0.0.1:2525", "127.0.0.1:8025", "text", "INFO"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// TestNumberFlagsTakeGoForms checks that the number flags, and their
// variables, take the forms the flag package's number flags took:
// 1_048_576, 0x10, and 010 as octal 8.
func TestNumberFlagsTakeGoForms(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "MOCKSMTP_") {
			t.Setenv(name, "") // restored after the test
			os.Unsetenv(name)
		}
	}
	t.Setenv("MOCKSMTP_RETAIN", "010")
	t.Setenv("MOCKSMTP_MAX_TRANSCRIPT_LINES", "0x1_000")
	t.Setenv("MOCKSMTP_MAX_JUNK_COMMANDS", "0x3e8")
	cfg, err := parseFlags([]string{"-max-message-bytes", "1_048_576", "-max-recipients", "0x10", "-max-text-line", "2_000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := []int64{cfg.maxMessageBytes, int64(cfg.maxRecipients), int64(cfg.retain), int64(cfg.maxTranscriptLines),
		int64(cfg.engine.MaxTextLine), int64(cfg.engine.MaxJunkCommands)}
	want := []int64{1048576, 16, 8, 4096, 2000, 1000}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-max-message-bytes 1_048_576 -max-recipients 0x10 -max-text-line 2_000 MOCKSMTP_RETAIN=010 MOCKSMTP_MAX_TRANSCRIPT_LINES=0x1_000 MOCKSMTP_MAX_JUNK_COMMANDS=0x3e8 (-want +got):\n%s", diff)
	}
}

// greeting connects to addr and returns the first line it reads.
func greeting(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

func TestEnvironmentVariablesSetFlagsAndFlagsWin(t *testing.T) {
	t.Parallel()
	env := []string{"MOCKSMTP_LISTEN=127.0.0.1:0", "MOCKSMTP_HTTP=", "MOCKSMTP_HOSTNAME=env.example"}
	p := startNoWait(t, env)
	m := p.stderr.waitFor(t, listeningRE)
	if m[2] != "" {
		t.Errorf("MOCKSMTP_HTTP= should turn HTTP off, got http=%s", m[2])
	}
	if got := greeting(t, m[1]); got != "220 env.example ESMTP mocksmtp" {
		t.Errorf("greeting = %q, want the host name from MOCKSMTP_HOSTNAME", got)
	}

	p2 := start(t, env, "-hostname", "flag.example")
	if got := greeting(t, p2.smtp); got != "220 flag.example ESMTP mocksmtp" {
		t.Errorf("greeting = %q, want the host name from the flag", got)
	}
}

func TestPrintsMessagesAndTranscriptsAsTheyArrive(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	sendMail(t, p.smtp, "alice@example.com", []string{"bob@example.com"}, "Subject: Hi\r\n\r\nHello\r\n")
	p.stdout.waitFor(t, regexp.MustCompile(`(?m)^message 1 from <alice@example.com> to <bob@example.com> "Hi" \(\d+ bytes\), sent with HELO "localhost", plaintext, no AUTH$`))
	p.stdout.waitFor(t, regexp.MustCompile(`(?s)session 1 .*ended: QUIT\n.*C: MAIL FROM:<alice@example.com>.*S: 221 `))
}

// The text log says how each message was sent, as the JSON's "sent"
// does: HELO name, TLS, AUTH. It said only the envelope and subject, so
// a message sent before AUTH and one after read the same. The client's
// words are quoted, escaped and clipped: a terminal escape, a bidi
// control and a long user name do not reach the log as sent.
func TestTextLogSaysHowEachMessageWasSent(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-auth-any")
	c, err := smtp.Dial(p.smtp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("evil\x1b[31m\u202e.example"); err != nil {
		t.Fatal(err)
	}
	sendOver(t, c, "a@example.com", "b@example.com", "Subject: before\r\n\r\nx\r\n")
	user := strings.Repeat("u", 1000)
	if err := c.Auth(smtp.PlainAuth("admin", user, "secret", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	sendOver(t, c, "a@example.com", "b@example.com", "Subject: after\r\n\r\nx\r\n")
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	helo := `HELO "evil\x1b[31m\u202e.example"`
	p.stdout.waitFor(t, regexp.MustCompile(`(?m)^message 1 from .* "before" \(\d+ bytes\), sent with `+regexp.QuoteMeta(helo+`, plaintext, no AUTH`)+`$`))
	p.stdout.waitFor(t, regexp.MustCompile(`(?m)^message 2 from .* "after" \(\d+ bytes\), sent with `+
		regexp.QuoteMeta(helo+`, plaintext, AUTH PLAIN "admin" as "`+clip(user)+`" ok`)+`$`))
	if out := p.stdout.String(); strings.ContainsAny(out, "\x1b\u202e") {
		t.Errorf("the log has the client's escape or bidi control as sent:\n%q", out)
	}
}

func TestQuietPrintsNothing(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	sendMail(t, p.smtp, "a@example.com", []string{"b@example.com"}, "Subject: Hi\r\n\r\nHello\r\n")
	getJSON(t, p, "/api/wait?count=1", 200, nil)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if out := p.stdout.String(); out != "" {
		t.Errorf("stdout with -quiet = %q, want nothing", out)
	}
}

func TestJSONLogsAndEvents(t *testing.T) {
	t.Parallel()
	p := startNoWait(t, nil, "-listen", "127.0.0.1:0", "-http", "127.0.0.1:0", "-log-format", "json")
	line := p.stderr.waitFor(t, regexp.MustCompile(`\{[^\n]*"msg":"listening"[^\n]*\}`))[0]
	var listening struct{ Level, Msg, SMTP, HTTP string }
	if err := json.Unmarshal([]byte(line), &listening); err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	if listening.Level != "INFO" || listening.SMTP == "" || listening.HTTP == "" {
		t.Fatalf("listening record = %+v", listening)
	}
	sendMail(t, listening.SMTP, "a@example.com", []string{"b@example.com"}, "Subject: Hi\r\n\r\nHello\r\n")
	p.stdout.waitFor(t, regexp.MustCompile(`"event":"session"`))

	type sent struct{ Helo string }
	type event struct {
		Event      string
		ID         int
		Subject    string
		Sent       *sent // how a message was sent, as GET /api/messages/{id} says
		Transcript []struct{ Dir, Text string }
	}
	var got []event
	for _, l := range strings.Split(strings.TrimSpace(p.stdout.String()), "\n") {
		var e event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("stdout line %q: %v", l, err)
		}
		got = append(got, event{Event: e.Event, ID: e.ID, Subject: e.Subject, Sent: e.Sent, Transcript: e.Transcript[:min(1, len(e.Transcript))]})
	}
	want := []event{
		{Event: "message", ID: 1, Subject: "Hi", Sent: &sent{Helo: "localhost"}},
		{Event: "session", ID: 1, Transcript: []struct{ Dir, Text string }{{"S", "220 localhost ESMTP mocksmtp"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stdout events (-want +got):\n%s", diff)
	}
}

func TestSignalsStopPromptlyAndCleanly(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			p := start(t, nil, "-log-level", "debug")

			// A live SMTP session...
			c, err := net.DialTimeout("tcp", p.smtp, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(c)
			readLine := func() string {
				l, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("reading from the SMTP session: %v", err)
				}
				return l
			}
			readLine() // greeting
			fmt.Fprintf(c, "HELO client.example\r\n")
			if l := readLine(); !strings.HasPrefix(l, "250 ") {
				t.Fatalf("HELO reply %q", l)
			}

			// ...and long polls in flight: a wait for messages, one for
			// sessions.
			polls := []string{"/api/wait?count=5&timeout=60s", "/api/wait/sessions?count=5&timeout=60s"}
			polled := make(chan int, len(polls))
			for _, path := range polls {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					req, _ := newRequest(ctx, p, "GET", path, nil)
					res, err := httpClient.Do(req)
					if err != nil {
						polled <- 0
						return
					}
					res.Body.Close()
					polled <- res.StatusCode
				}()
			}
			p.stderr.waitFor(t, regexp.MustCompile(`msg=http method=GET path=/api/wait `))
			p.stderr.waitFor(t, sessionWaitLogged)

			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t, 5*time.Second); code != 0 {
				t.Errorf("exit code after %v = %d, want 0; stderr:\n%s", sig, code, p.stderr)
			}
			if l := readLine(); !strings.HasPrefix(l, "421 4.3.2 ") {
				t.Errorf("the live session got %q at shutdown, want 421 4.3.2", l)
			}
			for range polls {
				if code := <-polled; code != 503 {
					t.Errorf("a long poll ended with %d, want 503", code)
				}
			}
			if !strings.Contains(p.stderr.String(), "msg=stopped") {
				t.Errorf("stderr lacks the stopped line:\n%s", p.stderr)
			}
		})
	}
}
