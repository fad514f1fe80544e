package interop

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/smtpd"
)

// finalSASL is a mechanism that takes one response, "pencil", and
// succeeds with additional data, as SCRAM's server-final message is.
type finalSASL struct{}

func (finalSASL) Next(resp []byte) ([]byte, bool, error) {
	if string(resp) != "pencil" {
		return nil, false, smtpd.Reply{Code: 535, Status: "5.7.8", Lines: []string{"no"}}
	}
	return []byte("v=the server's proof"), true, nil
}

// TestPythonSASLAdditionalData authenticates with Python's smtplib
// (testdata/auth_final.py) with mechanisms that succeed with additional
// data: SMTP has no room for it in the 235 (RFC 4954 4), so the server
// sends it as a last 334 challenge, which smtplib hands to its auth
// object and answers with an empty line. The script's SCRAM-SHA-256
// client checks the server's signature in it; a mechanism of
// WithEngineConfig's NewSASL gets the same. (Before, the engine dropped
// a mechanism's additional data, and only mocksmtp's SCRAM sent its own.)
func TestPythonSASLAdditionalData(t *testing.T) {
	t.Parallel()
	python := needProgram(t, "python3", "apt-get install python3")
	for _, tc := range []struct {
		mechanism string
		opts      []mocksmtp.Option
		want      []string // the challenges after the initial response, decoded; "*" for any
	}{
		{"SCRAM-SHA-256", []mocksmtp.Option{mocksmtp.WithAuth(authUser, "pencil"), mocksmtp.WithAuthMechanisms(mocksmtp.AuthSCRAMSHA256)},
			[]string{"*", "*"}},
		{"X-FINAL", []mocksmtp.Option{mocksmtp.WithEngineConfig(smtpd.Config{AuthMechanisms: []string{"X-FINAL"},
			NewSASL: func(string) (smtpd.SASLServer, error) { return finalSASL{}, nil }})},
			[]string{"v=the server's proof"}},
	} {
		t.Run(tc.mechanism, func(t *testing.T) {
			t.Parallel()
			h := start(t, tc.opts...)
			out, err := runProgram(t, nil, python, "testdata/auth_final.py", h.srv.Host(), strconv.Itoa(h.srv.Port()), tc.mechanism, authUser, "pencil")
			if err != nil {
				t.Fatalf("auth_final.py: %v\n%s", err, out)
			}
			var got struct {
				Challenges []string
				Code       int
				Verified   bool
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("auth_final.py printed %q: %v", out, err)
			}
			if got.Code != 235 {
				t.Errorf("AUTH ended with %d, want 235", got.Code)
			}
			if tc.mechanism == "SCRAM-SHA-256" {
				if !got.Verified || len(got.Challenges) != 2 || !strings.HasPrefix(got.Challenges[1], "v=") {
					t.Errorf("SCRAM: challenges %q, server's signature checked: %v; want r=..., v=... checked", got.Challenges, got.Verified)
				}
			} else if diff := cmp.Diff(tc.want, got.Challenges); diff != "" {
				t.Errorf("challenges (-want +got):\n%s", diff)
			}
			// Session.Auth is recorded for mocksmtp's own mechanisms.
			if s := h.session(t); tc.mechanism == "SCRAM-SHA-256" && (s.Auth == nil || !s.Auth.Success) {
				t.Errorf("Session.Auth = %+v, want a success\n%s", s.Auth, s.Transcript)
			}
		})
	}
}
