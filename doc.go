// Package mocksmtp starts an in-process SMTP server for tests: the test
// double for Go code that sends email.
//
// # Starting a server
//
// [Start] starts a server on 127.0.0.1 with a random port for the test t
// and closes it at cleanup; when the test failed, cleanup logs every
// session's transcript:
//
//	srv := mocksmtp.Start(t)
//	app := signup.New(signup.Config{SMTPAddr: srv.Addr()})
//
// Without a test, [New] returns a server and an error; the caller closes it.
// Many servers run side by side: the only package-level state is the test
// certificate authority, built once and read-only, so t.Parallel tests never
// interfere. [Server.Close] waits for every session; one held up by a
// callback of the test's is logged after 5 s, as net/http/httptest does.
//
// # Messages
//
// Every message the server accepts is recorded before its 250 reply is
// written, so a client that saw 250 can never race the test.
// [Server.WaitForMessages] waits on a condition with a deadline (5 s by
// default, see [WithWaitTimeout]) and fails the test with what did arrive
// and the transcripts of the sessions that tell why;
// [Server.WaitForMessagesContext] is the t-free form. A [Message] has the
// envelope (From, To, Params), the raw bytes exactly as sent after
// dot-unstuffing, and the MIME view parsed with github.com/emersion/go-message:
// header, decoded Subject, text and HTML bodies, attachments. A message that
// does not parse is still recorded, with ParseErr set.
//
// # Expectations
//
// A [Want] describes a message by the fields a test cares about: envelope,
// header addresses, subject, any header, text and HTML bodies (exactly, by
// substring or by regular expression), attachments. [Server.Expect]
// registers one on a test, checked when that test (or subtest) ends; an
// unmet one fails it with where it was declared, the nearest message as a
// (-want +got) diff of the fields the Want sets, and the transcript lines
// of its session:
//
//	srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Welcome"})
//	srv.Expect(t, mocksmtp.Want{SubjectContains: "password"}).Never()
//	srv.ExpectNoOtherMessages(t)
//
// Without a test, [Server.AddExpectation], [Server.ForbidOtherMessages]
// and [Server.ForbidMessages] register the same, and [Server.Verify]
// checks them when asked, returning the same report as an error.
//
// Inline, [Server.WaitFor] waits for a message like a Want and returns it
// ([Server.WaitForContext] without a test, its error the same report;
// [Server.WaitForNContext] for several, taken all at once or none),
// [Server.AssertMessage] checks one arrived, [Server.AssertNoMessages]
// checks none does; [Message.Links] and [Message.Find] pull out a magic
// link or a one-time code; [Want.Match] picks messages like a Want from a
// list. [Server.Inbox] gives each of many parallel tests
// its own domain on one shared server, with its own waits,
// expectations, sessions and findings ([Server.NewInbox] without a test).
//
// # Faults
//
// A [Fault] scripts how the server misbehaves, read like a sentence: where
// (a [Stage]), which events ([Fault.OnAttempt], [Fault.AtMost],
// [Fault.ForRcpt], [Fault.ForSender], [Fault.WithProbability]) and what
// happens ([Fault.Reply], [Fault.Disconnect], [Fault.Drop],
// [Fault.ResetTCP], [Fault.Delay], [Fault.Stall], [Fault.Trickle],
// [Fault.SplitReply], [Fault.RawReply], [Fault.HalfClose],
// [Fault.DropAfterBytes], [Fault.IdleReply]):
//
//	srv := mocksmtp.Start(t, mocksmtp.WithFault(
//		mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Reply(421, "4.3.2 try later").Disconnect(),
//	))
//
// Scenarios are faults too: [Greylist], [GreylistFor], [RateLimit], [RateLimitPer],
// [MailboxFull], [UnknownUser], [ShuttingDown], [TooManyRecipients].
// [Server.AddFault], [Server.ReplaceFaults] and [Server.ClearFaults]
// change the script while the server runs; [Server.AddRemovableFault]
// adds faults that a test sharing the server removes at its end, the
// other faults keeping their state. Of the faults that match an
// event, the first with a reply, a Drop or an ending decides its
// answer; those before it that only delay or modify it (a pace, an idle
// reply, DropAfterBytes, a TLS failure) add their delays and what they
// modify to it (see [WithFault]).
// A message is recorded only when the answer to it is 2xx. Each fired
// fault is a note in the transcript naming the file and line where it was
// declared, and an entry in Session.Faults; sessions' Start times let a
// test assert its client's retry backoff.
//
// # Fake time
//
// Retries, backoff, greylisting and timeouts are about minutes. With
// [WithInMemory] the server listens in memory, clients connect with
// [Server.Dial] or [Server.DialContext] (which fits go-mail's
// WithDialContextFunc and any other dial hook), and, started inside a
// testing/synctest bubble, the server runs on the bubble's clock: fault
// delays, stalls, idle replies, the read timeout, the waits and
// [Server.Close] take bubble time, which passes at once when everything
// waits. A test of "retry after 5 minutes of greylisting, give up on a
// stalled server after 30 s" takes microseconds and asserts exact
// durations:
//
//	synctest.Test(t, func(t *testing.T) {
//		srv := mocksmtp.Start(t, mocksmtp.WithInMemory(), mocksmtp.WithFault(mocksmtp.GreylistFor(5*time.Minute)))
//		mailer := newMailer(srv.DialContext)
//		...
//		sessions := srv.WaitForSessions(t, 2)
//		gap := sessions[1].Start.Sub(sessions[0].Start) // exactly the mailer's backoff
//	})
//
// Code that dials by itself (net/smtp.SendMail, external programs) needs
// TCP.
//
// # TLS and AUTH
//
// [WithSTARTTLS] offers STARTTLS (RFC 3207) and [WithImplicitTLS] speaks
// TLS from the first byte (RFC 8314), with a certificate for localhost,
// 127.0.0.1 and ::1 from a test certificate authority built once per
// process. [Server.ClientTLSConfig] returns a client configuration that
// trusts it, so clients verify for real; [Server.CertPool] and
// [Server.CACertPEM] serve other clients; [WithTLSConfig] brings your own.
// [WithRequireTLS] answers every command before TLS but EHLO, HELO,
// STARTTLS, NOOP, HELP and QUIT with 530 5.7.0 (RFC 3207 4, as Postfix),
// and offers AUTH only after it. TLS
// failures are faults at StageStartTLS (or at StageConnect, for the
// handshake of implicit TLS): an expired certificate, one for the wrong
// host, one from an untrusted authority, a TLS version the client refuses,
// an aborted handshake.
//
// [WithAuth] offers AUTH (RFC 4954) with PLAIN, LOGIN and CRAM-MD5 for a
// user (repeat it for more); [WithAuthFunc] decides with a callback, and
// offers PLAIN and LOGIN (CRAM-MD5 needs the password of an account of
// WithAuth); bad credentials get 535 5.7.8. [WithOAuthToken] offers the
// bearer-token mechanisms XOAUTH2 and OAUTHBEARER (RFC 7628), with their
// JSON error challenges; [WithAuthMechanisms] adds SCRAM-SHA-1 and
// SCRAM-SHA-256, and their -PLUS forms with TLS channel binding. The
// session records the mechanism, the identity and the outcome; transcripts
// mask the secrets. [WithPersona] makes the banner,
// EHLO keywords and reply texts look like a well-known MTA.
//
// # DKIM
//
// Every received message's DKIM signatures (RFC 6376) are verified with
// github.com/emersion/go-msgauth against the keys [WithDKIMKey] registers,
// never DNS: [Message.DKIM] holds a [DKIMResult] per signature (pass, fail,
// permerror, or temperror for a key not registered, each with its reason),
// the message's transcript note is an Authentication-Results line, a
// signature that fails is a finding ([RuleDKIM]: also for h= without From
// and for l=), and [Want].DKIM expects signatures like any other field. At
// most 5 signatures per message are verified, and hostile headers are
// bounded: a message without a DKIM-Signature costs nothing more.
//
// The message's ARC chain (RFC 8617), if it has one, is validated with the
// same keys (an ARC key is a DKIM key): [Message.ARC] is an [ARCResult]
// (none, pass, or fail with the set and what failed), each [ARCSet] says
// whether its seal and its message signature verified, the
// Authentication-Results note gains "arc=pass" or "arc=fail (...)", and a
// chain that fails is a finding ([RuleARC]), and [Want].ARC and
// ARCReason expect a result like any other field. At most 50 sets, and a
// bounded amount of hashing, per message.
//
// # Conformance findings
//
// The server sees every byte, so it reports what a stricter MTA would
// bounce: bare CR or LF, missing dot-stuffing, overlong lines, 8-bit data
// without BODY=8BITMIME, UTF-8 without SMTPUTF8, MAIL before EHLO,
// pipelining past a synchronization point, no QUIT, AUTH without TLS,
// missing or repeated header fields, bad address syntax, broken MIME. Each
// [Finding] names its [Rule] and the RFC section, the session and the
// transcript line; [Server.Findings], Session.Findings and
// Message.Findings list them, [Inbox.Findings] those of the sessions that
// sent to an inbox. [WithStrict] fails the test on any finding,
// [WithRejectNonconforming] answers with the 5xx a strict MTA would send,
// and [WithoutRules] switches rules off.
//
// # Long runs
//
// [Server.Reset] forgets the messages, the ended sessions and the findings
// so far (IDs are never reused; live sessions, faults and tests'
// expectations stay, the faults' state started afresh), [Server.DeleteMessage] forgets one message, and
// [WithRetention] keeps only the last messages, their sessions and the
// last sessions, for a server that runs for a long time, such as the
// standalone program in cmd/mocksmtp.
// The server keeps each message's raw bytes and envelope and decodes its
// MIME when a snapshot is taken (not on arrival, but with
// [WithRejectNonconforming]; DKIM signatures are verified on arrival, from
// the raw bytes), so a stored message costs little more than its size,
// and recording costs little more than reading the wire.
// Sessions record in parallel, each under a lock of its own. Every
// snapshot is the caller's to change. [Server.LastMessages],
// [Server.Message] and [Server.Count] cost what they return, whatever the
// server holds: a message's Session says who sent it and how, without
// the session's transcript, which [Server.Session] returns.
//
// # Transcripts
//
// [Server.Sessions] returns a snapshot of every session: remote address,
// start and end time, HELO name, TLS state, how it ended, its messages, and
// its [Transcript] — every line that crossed the wire (on the plaintext
// side of TLS), in order, with the time it was seen. Message data shows as
// one note line; AUTH secrets are masked (see [WithoutSecretMasking]).
// [Session.AssertGolden] compares a session's transcript, its variable
// parts normalized, with a golden file. A session longer than the
// transcript cap (100,000 lines, [WithMaxTranscriptLines]) keeps its first
// and last lines, every line with its number, and its golden file has a
// note where the lines between were; [Message.AssertGolden] does the same
// for a message's content, in a readable form ([Message.Normalized]) with
// Message-ID, Date, MIME boundaries, DKIM signature values and the
// patterns of [Mask] normalized.
//
// # Examples
//
// Besides the Example functions of this package, the module's examples
// directory holds three small programs tested end to end with mocksmtp: a
// signup mailer whose confirmation link is followed, a sender retrying
// with backoff against 421s and dropped connections, and a mailer that
// requires STARTTLS and AUTH.
//
// # The engine
//
// The protocol work is done by package
// github.com/mocksmtp/mocksmtp/smtpd, a reusable, pull-style server
// engine: strict RFC 5321 sequencing, PIPELINING, 8BITMIME, SMTPUTF8, SIZE,
// CHUNKING, DSN, ENHANCEDSTATUSCODES, STARTTLS and AUTH, with every
// decision left to its driver. mocksmtp is that driver.
package mocksmtp
