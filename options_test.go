package mocksmtp

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// WithEngineConfig is a base that every other option changes, whatever
// the order: hostname, STARTTLS, AUTH and the size limit given before it
// survive, as they do given after it; and the fields only it sets (banner,
// VRFY reply, line limit) survive both ways too.
func TestWithEngineConfigOrder(t *testing.T) {
	t.Parallel()
	base := WithEngineConfig(smtpd.Config{
		Hostname:        "base.example",
		Banner:          "Base ESMTP",
		MaxMessageBytes: 999,
		MaxCommandLine:  100,
		VRFY:            &smtpd.Reply{Code: 550, Status: "5.1.1", Lines: []string{"no such user"}},
	})
	dedicated := []Option{WithHostname("mx.example"), WithSTARTTLS(), WithAuth("user", "secret"), WithMaxMessageBytes(1234)}
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"WithEngineConfig last", append(slices.Clone(dedicated), base)},
		{"WithEngineConfig first", append([]Option{base}, dedicated...)},
		{"WithEngineConfig between", append(append(slices.Clone(dedicated[:2]), base), dedicated[2:]...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := Start(t, tt.opts...)
			w := connectWire(t, srv.Addr(), nil)
			if got := w.expect("220"); got[0] != "220 mx.example Base ESMTP" {
				t.Errorf("greeting %q, want the hostname of WithHostname and the banner of WithEngineConfig", got[0])
			}
			ehlo := w.cmd("EHLO client.example", "250")
			var kws []string
			for _, l := range ehlo[1:] {
				kws = append(kws, l[4:])
			}
			for _, want := range []string{"STARTTLS", "AUTH PLAIN LOGIN CRAM-MD5", "SIZE 1234"} {
				if !slices.Contains(kws, want) {
					t.Errorf("EHLO reply lacks %q: %q", want, ehlo)
				}
			}
			w.cmd("VRFY bob", "550 5.1.1 no such user")
			w.cmd("AUTH PLAIN AHVzZXIAc2VjcmV0", "235")
			// MaxCommandLine 100 of the base: a longer line is refused.
			w.cmd("NOOP "+strings.Repeat("x", 100), "500")
			w.cmd("QUIT", "221")
			w.conn.Close()
			ss := srv.WaitForSessions(t, 1)
			if diff := cmp.Diff(&AuthInfo{Mechanism: AuthPlain, Username: "user", Success: true}, ss[0].Auth); diff != "" {
				t.Errorf("Session.Auth (-want +got):\n%s", diff)
			}
		})
	}
}

// WithEngineConfig refuses line limits past 1 MiB, the longest line the
// engine reads, naming the field: the engine would count them as 1 MiB
// (and before, sized each connection's read buffer to them).
func TestWithEngineConfigLineLimits(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, tt := range []struct {
		cfg  smtpd.Config
		want string // in New's error; "" for none
	}{
		{smtpd.Config{MaxTextLine: mib}, ""},
		{smtpd.Config{MaxTextLine: mib + 1}, "MaxTextLine 1048577: want at most 1048576 octets"},
		{smtpd.Config{MaxTextLine: 1 << 30}, "MaxTextLine 1073741824: want at most 1048576 octets"},
		{smtpd.Config{MaxCommandLine: mib}, ""}, // the default allowance is left out
		{smtpd.Config{MaxCommandLine: mib + 1}, "MaxCommandLine 1048577: want"},
		{smtpd.Config{MaxCommandLine: mib - 100, ParamAllowance: 100}, ""},
		{smtpd.Config{MaxCommandLine: mib - 100, ParamAllowance: 101}, "MaxCommandLine 1048476 with ParamAllowance 101: want"},
		{smtpd.Config{ParamAllowance: mib - 512}, ""},
		{smtpd.Config{ParamAllowance: mib - 511}, "MaxCommandLine 512 with ParamAllowance 1048065: want"},
		{smtpd.Config{ParamAllowance: math.MaxInt}, "MaxCommandLine 512 with ParamAllowance 9223372036854775807: want"},
	} {
		srv, err := New(WithEngineConfig(tt.cfg))
		if err == nil {
			srv.Close()
		}
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("New(WithEngineConfig(%+v)): %v, want no error", tt.cfg, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), "mocksmtp: WithEngineConfig: "+tt.want)):
			t.Errorf("New(WithEngineConfig(%+v)): %v, want an error with %q", tt.cfg, err, tt.want)
		}
	}
}

// A nil Option (a variable never set, a conditional's other branch) is
// an error of New that says which, not a nil-pointer panic.
func TestNilOptionIsAnError(t *testing.T) {
	t.Parallel()
	var unset Option
	srv, err := New(WithSTARTTLS(), unset)
	if err == nil {
		srv.Close()
		t.Fatal("New(WithSTARTTLS(), nil) succeeded, want an error")
	}
	if want := "mocksmtp: option 2 of 2 is nil"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}
