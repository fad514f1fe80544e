package mocksmtp_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// AuthInfo.Refused is the reply the client got instead of 235, as it
// read it: without the enhanced status code when the server does not
// offer ENHANCEDSTATUSCODES, and with the one the server derives when
// the fault's reply gives none.
func TestAuthRefusedSaysTheReplyAsTheClientReadIt(t *testing.T) {
	t.Parallel()
	plain := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret"))
	for _, tt := range []struct {
		name  string
		opts  []mocksmtp.Option
		fault mocksmtp.Fault
		want  string
	}{
		{"with a status", nil, mocksmtp.At(mocksmtp.StageAuth).Reply(535, "5.7.8 nope"), "535 5.7.8 nope"},
		{"without ENHANCEDSTATUSCODES", []mocksmtp.Option{mocksmtp.WithoutExtensions("ENHANCEDSTATUSCODES")},
			mocksmtp.At(mocksmtp.StageAuth).Reply(535, "5.7.8 nope"), "535 nope"},
		{"without a status", nil, mocksmtp.At(mocksmtp.StageAuth).Reply(535, "nope"), "535 5.0.0 nope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := append([]mocksmtp.Option{mocksmtp.WithAuth("alice", "secret"), mocksmtp.WithFault(tt.fault)}, tt.opts...)
			srv := mocksmtp.Start(t, opts...)
			c := dialFault(t, srv)
			c.must("", 220)
			c.must("EHLO client.example", 250)
			c.send(plain)
			line, err := c.r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSuffix(line, "\r\n")
			if got != tt.want {
				t.Fatalf("the client read %q, want %q", got, tt.want)
			}
			c.must("QUIT", 221)
			s := srv.WaitForSessionEnd(t, 1)
			if s.Auth == nil || s.Auth.Refused != got {
				t.Errorf("Auth %+v; want Refused %q, what the client read", s.Auth, got)
			}
		})
	}
}
