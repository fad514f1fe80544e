package mocksmtp_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// mailTo is mail, to the recipient to.
func mailTo(to, body string) exchange {
	return exchange{
		{"EHLO client.example\r\n", 1},
		{"MAIL FROM:<alice@example.com> BODY=8BITMIME\r\n", 1},
		{"RCPT TO:<" + to + ">\r\n", 1},
		{"DATA\r\n", 1},
		{body + ".\r\n", 1},
		{"QUIT\r\n", 1},
	}
}

// sessionsOf returns the session IDs of fs, each once, in order.
func sessionsOf(fs []mocksmtp.Finding) []int {
	var ids []int
	for _, f := range fs {
		if !slices.Contains(ids, f.Session) {
			ids = append(ids, f.Session)
		}
	}
	return ids
}

// TestInboxFindingsAreItsSessions: tests that share one server, each with
// an inbox, run their clients in parallel; each inbox's findings are those
// of the sessions that named its domain in a RCPT TO (in any case,
// accepted or refused), not the other tests'. A session with no RCPT
// belongs to no inbox: its findings are the server's only. Inbox.Reset
// forgets the inbox's findings so far.
func TestInboxFindingsAreItsSessions(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog())
	breaks, conforms, refused := srv.NewInbox("breaks"), srv.NewInbox("conforms"), srv.NewInbox("refused")
	bareLF := strings.Replace(goodMessage, "na\xc3\xafve\r\n", "a\nb\r\n", 1)
	t.Run("clients", func(t *testing.T) {
		for _, c := range []struct {
			name string
			x    exchange
		}{
			{"bare LF in DATA", mailTo(breaks.Address("bob"), bareLF)},
			{"conforming", mailTo(conforms.Address("bob"), goodMessage)},
			// The engine refuses a RCPT before MAIL (503); the client
			// leaves without QUIT.
			{"refused RCPT, no QUIT", exchange{{"EHLO x\r\n", 1}, {"RCPT TO:<Bob@" + strings.ToUpper(refused.Domain()) + ">\r\n", 1}}},
			{"no RCPT, no QUIT", exchange{{"EHLO x\r\n", 1}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				c.x.play(t, srv)
			})
		}
	})
	srv.WaitForSessions(t, 4)

	all := srv.Findings()
	if got, want := rules(all), []mocksmtp.Rule{mocksmtp.RuleBareLineEnding, mocksmtp.RuleQuit, mocksmtp.RuleQuit}; !slices.Equal(got, want) {
		t.Fatalf("the server's findings: %v, want %v", all, want)
	}
	for _, tt := range []struct {
		in   *mocksmtp.Inbox
		want []mocksmtp.Rule
	}{
		{breaks, []mocksmtp.Rule{mocksmtp.RuleBareLineEnding}},
		{conforms, nil},
		{refused, []mocksmtp.Rule{mocksmtp.RuleQuit}},
	} {
		fs := tt.in.Findings()
		if got := rules(fs); !slices.Equal(got, tt.want) || len(sessionsOf(fs)) > 1 {
			t.Errorf("%s: findings %v, want %v of one session", tt.in.Domain(), fs, tt.want)
		}
	}
	// The session without RCPT is in none of them.
	var inboxed []int
	for _, in := range []*mocksmtp.Inbox{breaks, conforms, refused} {
		inboxed = append(inboxed, sessionsOf(in.Findings())...)
	}
	if ids := sessionsOf(all); len(ids) != 3 || len(inboxed) != 2 {
		t.Errorf("sessions with findings %v, of inboxes %v: want 3 and 2 of them", ids, inboxed)
	}

	breaks.Reset()
	if fs := breaks.Findings(); len(fs) != 0 {
		t.Errorf("after Inbox.Reset: %v, want none", fs)
	}
	if fs := srv.Findings(); len(fs) != 3 {
		t.Errorf("the server's findings after Inbox.Reset: %v, want the 3", fs)
	}
	mailTo(breaks.Address("carol"), bareLF).play(t, srv)
	srv.WaitForSessions(t, 5)
	if got := rules(breaks.Findings()); !slices.Equal(got, []mocksmtp.Rule{mocksmtp.RuleBareLineEnding}) {
		t.Errorf("after Inbox.Reset and a new session: %v, want its bare-line-ending", got)
	}
}

// TestInboxStrictOnASharedServer: under WithStrict, a server of New (in
// TestMain, shared) has no test to fail: each Inbox(t)'s cleanup fails its
// test with its inbox's findings, and only its own. A server of Start
// reports every finding at its own cleanup: its inboxes add no second
// report.
func TestInboxStrictOnASharedServer(t *testing.T) {
	t.Parallel()
	srv, err := mocksmtp.New(mocksmtp.WithStrict())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	reports := map[string]string{}
	t.Run("tests", func(t *testing.T) {
		for _, name := range []string{"breaks", "conforms"} {
			ft := &expT{name: name}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ft.run(func() {
					in := srv.Inbox(ft)
					body := goodMessage
					if name == "breaks" {
						body = strings.Replace(goodMessage, "na\xc3\xafve\r\n", "a\nb\r\n", 1)
					}
					// The finding is recorded before the reply to the
					// data, which play reads.
					mailTo(in.Address("bob"), body).play(t, srv)
				})
			})
			t.Cleanup(func() { reports[name] = ft.report() })
		}
	})
	// t.Run returns once its parallel subtests are done; their Cleanups
	// ran before.
	if r := reports["conforms"]; r != "" {
		t.Errorf("the conforming test failed:\n%s", r)
	}
	r := reports["breaks"]
	for _, want := range []string{"the client broke the rules in breaks-1.inbox.test (WithStrict)", "1 conformance finding", "bare-line-ending"} {
		if !strings.Contains(r, want) {
			t.Errorf("the breaking test's report lacks %q:\n%s", want, r)
		}
	}

	// On a server of Start, one report: the server's.
	ft := &recordingT{TB: t}
	started := mocksmtp.Start(ft, mocksmtp.WithStrict(), mocksmtp.WithoutTranscriptLog())
	in := started.Inbox(ft)
	mailTo(in.Address("bob"), strings.Replace(goodMessage, "na\xc3\xafve\r\n", "a\nb\r\n", 1)).play(t, started)
	ft.cleanup()
	if len(ft.errors) != 1 || !strings.Contains(ft.errors[0], "mocksmtp: Start at") {
		t.Errorf("a server of Start: %d errors, want 1, the server's: %q", len(ft.errors), ft.errors)
	}
}

// TestInboxFindingsHaveEveryMessagesSession: a message of an inbox comes
// from a session of the inbox, however many other inbox domains the
// session named before (the bound on the domains a session records, at
// N-1, N and N+1 of them) and however its address spells the domain: a
// domain that only Unicode case folding makes the inbox's ("ſ", U+017F,
// under SMTPUTF8) is another domain, for the message as for the session.
func TestInboxFindingsHaveEveryMessagesSession(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog())
	for _, tt := range []struct {
		name   string
		others int    // other inbox domains named first
		local  string // the recipient's domain, from the inbox's
		mail   string // MAIL's parameters
		inbox  bool   // whether the message is the inbox's
	}{
		{"99 others first", 99, "", "", true},
		{"100 others first", 100, "", "", true},
		{"101 others first", 101, "", "", true},
		{"upper case", 0, "upper", "", true},
		{"long s", 0, "long s", " SMTPUTF8", false},
		{"dotted I", 0, "dotted I", " SMTPUTF8", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := srv.NewInbox("signup")
			domain := in.Domain()
			switch tt.local {
			case "upper":
				domain = strings.ToUpper(domain)
			case "long s":
				domain = strings.Replace(domain, "s", "\u017f", 1)
			case "dotted I":
				domain = strings.Replace(domain, "i", "\u0130", 1)
			}
			before := len(srv.Sessions())
			c := dialEHLO(t, srv.Addr())
			for i := range tt.others {
				if i%50 == 0 {
					c.send("RSET\r\nMAIL FROM:<a@example.com>\r\n")
					c.expect("250 ")
					c.expect("250 ")
				}
				c.send(fmt.Sprintf("RCPT TO:<x@other%d.inbox.test>\r\n", i))
				c.expect("250 ")
			}
			c.send("RSET\r\nMAIL FROM:<a@example.com>" + tt.mail + "\r\nRCPT TO:<bob@" + domain + ">\r\nDATA\r\n")
			for _, code := range []string{"250 ", "250 ", "250 ", "354 "} {
				c.expect(code)
			}
			c.send(goodMessage + ".\r\n")
			c.expect("250 ")
			c.conn.Close() // no QUIT: a finding at the session's end
			srv.WaitForSessions(t, before+1)

			msgs := in.Messages()
			var fromSessions []int
			for _, m := range msgs {
				fromSessions = append(fromSessions, m.Session.ID)
			}
			if got := sessionsOf(in.Findings()); len(msgs) != map[bool]int{true: 1}[tt.inbox] || !slices.Equal(got, fromSessions) {
				t.Errorf("to %s: the inbox %s has %d messages (want the 1: %v) of sessions %v, findings of sessions %v", domain, in.Domain(), len(msgs), tt.inbox, fromSessions, got)
			}
		})
	}
}

// TestInboxResetKeepsFindingsOfSessionsNamingItLater: Inbox.Reset forgets
// the findings the inbox has then, those of the sessions that named it
// by then. A session open at Reset that names the inbox only after it (a
// pooled connection, opened before the test that resets the inbox at its
// start) brings all its findings, those before Reset too: the session's
// findings are the session's. One that named the inbox before Reset
// brings those after it only.
func TestInboxResetKeepsFindingsOfSessionsNamingItLater(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog())
	in := srv.NewInbox("pooled")
	step := func(c *rawClient, lines ...string) {
		t.Helper()
		for _, l := range lines {
			c.send(l + "\r\n")
			c.reply() // a 503 for MAIL before EHLO: the finding is recorded
		}
	}
	// Both break a rule before Reset: MAIL before EHLO.
	later, before := dialRaw(t, srv.Addr()), dialRaw(t, srv.Addr())
	for _, c := range []*rawClient{later, before} {
		c.expect("220 ")
		step(c, "MAIL FROM:<a@example.com>", "EHLO x", "MAIL FROM:<a@example.com>")
	}
	step(before, "RCPT TO:<bob@"+in.Domain()+">")
	if n := len(srv.Findings()); n != 2 {
		t.Fatalf("%d findings before Reset, want 2: %v", n, srv.Findings())
	}
	in.Reset()
	step(later, "RCPT TO:<bob@"+in.Domain()+">", "QUIT")
	// The one who named the inbox before Reset breaks a rule after it:
	// it leaves without QUIT.
	before.conn.Close()
	srv.WaitForSessions(t, 2)

	var got []string
	for _, f := range in.Findings() {
		who := "before"
		if f.Session == srv.Sessions()[0].ID {
			who = "later"
		}
		got = append(got, who+" "+string(f.Rule))
	}
	want := []string{"later helo-first", "before quit"}
	if !slices.Equal(got, want) {
		t.Errorf("the inbox's findings: %q, want %q (all: %v)", got, want, srv.Findings())
	}
}

// TestInboxFindingsOfRefusedRCPTs: a RCPT TO the engine refuses (before
// MAIL: 503) names the inbox as one it takes does, however the client
// wrote the address: a quoted local part with ">" in it, a source route,
// a space after the colon, no angle brackets.
func TestInboxFindingsOfRefusedRCPTs(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog())
	for _, tt := range []struct{ name, arg string }{
		{"quoted >", `<"a>b"@%s>`},
		{"source route", `<@relay.example:bob@%s>`},
		{"space", ` <bob@%s>`},
		{"no brackets", `bob@%s`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := srv.NewInbox("refused")
			before := len(srv.Sessions())
			c := dialEHLO(t, srv.Addr())
			c.send("RCPT TO:" + fmt.Sprintf(tt.arg, in.Domain()) + "\r\n")
			c.expect("5")
			c.conn.Close() // no QUIT
			srv.WaitForSessions(t, before+1)
			if got := rules(in.Findings()); !slices.Equal(got, []mocksmtp.Rule{mocksmtp.RuleQuit}) {
				t.Errorf("RCPT TO:%s: the inbox's findings %v, want its session's no QUIT (the server's: %v)", fmt.Sprintf(tt.arg, in.Domain()), got, srv.Findings())
			}
		})
	}
}

// sendToTwoInboxes plays a pooled connection that two tests share: a
// message without a Message-ID (message 1) to inbox a, then a good one to
// inbox b, and no QUIT; it returns the inboxes once the session ended.
func sendToTwoInboxes(t *testing.T, srv *mocksmtp.Server) (a, b *mocksmtp.Inbox) {
	t.Helper()
	a, b = srv.NewInbox("a"), srv.NewInbox("b")
	noID := strings.Replace(goodMessage, "Message-ID: <1@example.com>\r\n", "", 1)
	exchange{
		{"EHLO client.example\r\n", 1},
		{"MAIL FROM:<alice@example.com> BODY=8BITMIME\r\n", 1},
		{"RCPT TO:<" + a.Address("bob") + ">\r\n", 1},
		{"DATA\r\n", 1},
		{noID + ".\r\n", 1},
		{"MAIL FROM:<alice@example.com> BODY=8BITMIME\r\n", 1},
		{"RCPT TO:<" + b.Address("bob") + ">\r\n", 1},
		{"DATA\r\n", 1},
		{goodMessage + ".\r\n", 1},
	}.play(t, srv)
	srv.WaitForSessions(t, 1)
	return a, b
}

// TestInboxFindingsOfAMessageAreItsInboxes: a pooled connection shared by
// two tests sends a message that breaks a rule to one inbox and a good one
// to the other. The finding about the message is the first inbox's only:
// a finding about a message belongs to the inboxes of its recipients, one
// about the session (a missing QUIT) to every inbox the session named. The
// second test's inbox had the first one's missing Message-ID.
func TestInboxFindingsOfAMessageAreItsInboxes(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog())
	a, b := sendToTwoInboxes(t, srv)

	all := srv.Findings()
	if got, want := rules(all), []mocksmtp.Rule{mocksmtp.RuleMessageID, mocksmtp.RuleQuit}; !slices.Equal(got, want) || all[0].Message != 1 {
		t.Fatalf("the server's findings: %v, want %v, the first about message 1", all, want)
	}
	for _, tt := range []struct {
		in   *mocksmtp.Inbox
		want []mocksmtp.Rule
	}{
		{a, []mocksmtp.Rule{mocksmtp.RuleMessageID, mocksmtp.RuleQuit}},
		{b, []mocksmtp.Rule{mocksmtp.RuleQuit}},
	} {
		if got := rules(tt.in.Findings()); !slices.Equal(got, tt.want) {
			t.Errorf("%s: findings %v, want %v", tt.in.Domain(), tt.in.Findings(), tt.want)
		}
	}
}

// TestInboxFindingsOfAForgottenMessageStayItsInboxes: the first test of
// two that share a pooled connection forgets its message once it has
// checked it (DeleteMessage, the program's DELETE /api/messages/{id}; or
// Inbox.Reset, DELETE /api/messages?inbox=): the session keeps the
// message's findings, which stay the inbox's of its recipients, not the
// other test's. Before, a finding whose message was forgotten counted as
// the session's, in every inbox it named: the second test's inbox had
// the first one's missing Message-ID.
func TestInboxFindingsOfAForgottenMessageStayItsInboxes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		forget func(t *testing.T, srv *mocksmtp.Server, a *mocksmtp.Inbox)
		wantA  []mocksmtp.Rule
	}{
		{"DeleteMessage", func(t *testing.T, srv *mocksmtp.Server, _ *mocksmtp.Inbox) {
			if !srv.DeleteMessage(1) {
				t.Fatal("DeleteMessage(1): not kept")
			}
		}, []mocksmtp.Rule{mocksmtp.RuleMessageID, mocksmtp.RuleQuit}},
		{"Inbox.Reset", func(_ *testing.T, _ *mocksmtp.Server, a *mocksmtp.Inbox) { a.Reset() }, nil},
	} {
		for _, read := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, read before: %v", tt.name, read), func(t *testing.T) {
				t.Parallel()
				srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog())
				a, b := sendToTwoInboxes(t, srv)
				if read { // its content findings checked on the read
					srv.Messages()
				}
				tt.forget(t, srv, a)
				if got, want := rules(srv.Findings()), []mocksmtp.Rule{mocksmtp.RuleMessageID, mocksmtp.RuleQuit}; !slices.Equal(got, want) {
					t.Errorf("the server's findings, message 1 forgotten: %v, want %v (its session keeps them)", srv.Findings(), want)
				}
				for _, c := range []struct {
					in   *mocksmtp.Inbox
					want []mocksmtp.Rule
				}{
					{a, tt.wantA},
					{b, []mocksmtp.Rule{mocksmtp.RuleQuit}},
				} {
					if got := rules(c.in.Findings()); !slices.Equal(got, c.want) {
						t.Errorf("%s, message 1 forgotten: findings %v, want %v", c.in.Domain(), c.in.Findings(), c.want)
					}
				}
			})
		}
	}
}

// TestInboxFindingsOfARefusedMessageAreItsInboxes: on a pooled connection
// that two tests share, the server refuses the first test's message
// (WithRejectNonconforming: 8-bit data without BODY=8BITMIME; or a fault
// that answers its end 554), which breaks a rule, and takes the second
// test's. The finding about the refused message (it has no ID: Message
// 0) is the first inbox's only, as one about a message kept is; before,
// it counted as the session's, in the second test's inbox too.
func TestInboxFindingsOfARefusedMessageAreItsInboxes(t *testing.T) {
	t.Parallel()
	noID := strings.Replace(goodMessage, "Message-ID: <1@example.com>\r\n", "", 1)
	for _, tt := range []struct {
		name   string
		strict bool   // WithRejectNonconforming, else a fault refuses it
		param  string // the first message's MAIL FROM parameter
		first  string // and its content
		rule   mocksmtp.Rule
	}{
		{"WithRejectNonconforming", true, "", goodMessage, mocksmtp.Rule8BitMIME},
		{"fault", false, " BODY=8BITMIME", noID, mocksmtp.RuleMessageID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []mocksmtp.Option
			if tt.strict {
				opts = append(opts, mocksmtp.WithRejectNonconforming())
			}
			srv := mocksmtp.Start(t, append(opts, mocksmtp.WithoutTranscriptLog())...)
			a, b := srv.NewInbox("a"), srv.NewInbox("b")
			if !tt.strict {
				if err := srv.AddFault(mocksmtp.At(mocksmtp.StageMessage).ForRcpt("*@"+a.Domain()).Reply(554, "5.7.1 no")); err != nil {
					t.Fatal(err)
				}
			}
			c := dialRaw(t, srv.Addr())
			c.expect("220 ")
			for _, step := range []struct{ send, want string }{
				{"EHLO client.example\r\n", "250 "},
				{"MAIL FROM:<alice@example.com>" + tt.param + "\r\n", "250 "},
				{"RCPT TO:<" + a.Address("bob") + ">\r\n", "250 "},
				{"DATA\r\n", "354 "},
				{tt.first + ".\r\n", "554 "},
				{"MAIL FROM:<alice@example.com> BODY=8BITMIME\r\n", "250 "},
				{"RCPT TO:<" + b.Address("bob") + ">\r\n", "250 "},
				{"DATA\r\n", "354 "},
				{goodMessage + ".\r\n", "250 "},
			} {
				c.send(step.send)
				c.expect(step.want)
			}
			c.conn.Close()
			srv.WaitForSessions(t, 1)
			for _, c := range []struct {
				in   *mocksmtp.Inbox
				want []mocksmtp.Rule
			}{
				{a, []mocksmtp.Rule{tt.rule, mocksmtp.RuleQuit}},
				{b, []mocksmtp.Rule{mocksmtp.RuleQuit}},
			} {
				if got := rules(c.in.Findings()); !slices.Equal(got, c.want) {
					t.Errorf("%s: findings %v, want %v", c.in.Domain(), c.in.Findings(), c.want)
				}
			}
		})
	}
}
