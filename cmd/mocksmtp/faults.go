package main

// The fault script in JSON: the form of the -faults file and of the body
// of PUT /api/faults. It maps one to one onto the Go fault API: a JSON
// array with one object per [mocksmtp.Fault]; in each object, "at" (or a
// scenario) says where, the selectors say which events, the actions say
// what happens. Keys are the Go method names in lower camel case:
//
//	[
//	  {"at": "RCPT", "onAttempt": [1], "reply": "421 4.3.2 try later", "disconnect": true},
//	  {"at": "MAIL", "forSender": ["*@spam.example"], "reply": {"code": 550, "text": "5.7.1 go away"}},
//	  {"at": "DATA", "delay": "2s"},
//	  {"at": "message", "atMost": 1, "drop": true},
//	  {"greylist": true},
//	  {"unknownUser": ["nobody@example.com"]},
//	  {"rateLimit": 10}
//	]
//
// is, in Go,
//
//	mocksmtp.At(mocksmtp.StageRcpt).OnAttempt(1).Reply(421, "4.3.2 try later").Disconnect()
//	mocksmtp.At(mocksmtp.StageMail).ForSender("*@spam.example").Reply(550, "5.7.1 go away")
//	mocksmtp.At(mocksmtp.StageData).Delay(2 * time.Second)
//	mocksmtp.At(mocksmtp.StageMessage).AtMost(1).Drop()
//	mocksmtp.Greylist()
//	mocksmtp.UnknownUser("nobody@example.com")
//	mocksmtp.RateLimit(10)
//
// The script is consulted in order at each event, by the Go API's rule
// (mocksmtp.WithFault): each fault that matches fires; one without a
// reply, "rawReply", "drop" or ending, that only delays or modifies the
// answer ("delay", "trickle", "splitReply", "idleReply",
// "dropAfterBytes", a TLS failure, as {"at": "DATA", "delay": "2s"}
// above) decides nothing: the faults after it are consulted still,
// scenarios included, and what it does applies to the answer of the
// first that decides, or to the server's own ({"at": "RCPT", "trickle":
// ...} before {"unknownUser": [...]} trickles the 550). Delays add up;
// each other modifier comes from the fault that decides, if it has it, or
// else from the first fault that fired with it, and one with nothing left
// to add is not consulted. The first that decides
// gives the answer, which comes after every delay that fired; the faults
// after it are not consulted (their "atMost" not used up, their
// "withProbability" drawing nothing).
//
// Where, exactly one of:
//
//	"at"                 a stage: connect, greeting, HELO, STARTTLS, AUTH, MAIL, RCPT, DATA,
//	                     message (the end of a message), BDAT, RSET, NOOP, QUIT; any case
//	"greylist"           true: Greylist()
//	"greylistFor"        "5m": GreylistFor(5 * time.Minute): a retry sooner after the 451 is refused again
//	"rateLimit"          n: RateLimit(n)
//	"rateLimitPer"       {"n": 10, "interval": "1m"}: RateLimitPer(n, interval)
//	"mailboxFull"        ["addr or pattern", ...] (may be empty): MailboxFull(...)
//	"unknownUser"        ["addr or pattern", ...] (may be empty): UnknownUser(...)
//	"shuttingDown"       true: ShuttingDown()
//	"tooManyRecipients"  n: TooManyRecipients(n)
//
// Selectors: "onAttempt": [n, ...], "atMost": n, "forRcpt": [pattern, ...]
// (at RCPT, DATA, BDAT and message only), "forSender": [pattern, ...] (at
// MAIL and those), "withProbability": p.
//
// Errors name the keys as written here ("rawReply", "idleReply": 250), the
// stages as "at" names them, and the flags (Fault.Spelled with faultKeys,
// mocksmtp.WithOptionNames with optionFlags), not the Go API.
//
// A fault that could never fire or act is an error: one at a command the
// program does not offer (STARTTLS without -tls or with -implicit-tls,
// AUTH without -auth, -auth-any or -oauth-token, BDAT with CHUNKING in
// -without-extensions), a reply whose enhanced code's class is not its
// code's ("250 5.1.1 x"; "rawReply" writes anything), a positive reply its
// command does not mean ("250" at DATA, "334" at AUTH, "354" at MAIL,
// "251" at MAIL, "250" at QUIT: RFC 5321 4.3.2; "rawReply" again), an
// "idleReply" with a positive code other than 221 (the server closes
// after it), "disconnect" alone at QUIT (see Fault.Err for the others).
// A fault writes one reply: "reply" with "rawReply" is an error; "reply"
// with a scenario rewords the scenario's ({"greylist": true, "reply":
// "450 4.2.0 Greylisted"}), and "rawReply" with one that replies is an
// error.
//
// Actions: "reply": "421 4.3.2 text" or {"code": 421, "text": "4.3.2 text"}
// (a 421 closes the connection after it, as "disconnect" does; a 250 to
// EHLO is its first line, the extensions following),
// "rawReply": "bytes", "disconnect": true, "drop": true, "resetTCP": true,
// "halfClose": true, "stall": true, "delay": "2s",
// "trickle": {"n": 1, "every": "100ms"}, "splitReply": {"at": 3, "pause": "1s"},
// "dropAfterBytes": n, "idleReply": {"after": "1s", "code": 421, "text": "4.4.2 idle"}.
//
// TLS failures, at STARTTLS when it is offered (-tls), or at connect with -implicit-tls (the
// handshake that opens the connection): "expiredCertificate": true,
// "wrongHostCertificate": true, "untrustedCertificate": true,
// "tlsVersion": "1.0" (or "1.1", "1.2", "1.3": TLSVersion(tls.VersionTLS10)...),
// "abortHandshake": true.
//
// Where it was declared: "declaredAt": "test_retry.py:42" (Fault.DeclaredAt)
// names the fault in transcript notes and in its description, instead of
// the request and line of the fault ("PUT /api/faults:3") or the file and
// line ("faults.json:3"); at most 200 bytes on one line.
//
// Durations are Go duration strings ("250ms", "2s", "1m"). A key set to
// false or omitted does nothing; an unknown key is an error, which names
// the new name of a renamed one ("times" is "atMost"), and so is a key
// given twice in a fault.
// "description" is ignored on input; GET /api/faults fills it in with the
// fault as the server describes it, and gives "declaredAt" when it was
// given, so what GET returns can be PUT back.
//
// "id" is the program's: each fault it adds gets one (the -faults file's
// first, from 1; then those of each PUT and POST), never given again while
// it runs. GET, PUT and POST answer with it (POST with the faults it
// added only); DELETE /api/faults/{id} removes that one fault, in one
// step, the others keeping their state (mocksmtp.Server.AddRemovableFault
// is the Go API's way; the program reaches the same mechanism through
// internal/faultset, which adds a request's faults in one step, each
// removable on its own). It is ignored on input in PUT and the -faults
// file, as "description" is, and refused in POST: an id a client picked
// could name another test's fault.

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/internal/faultset"
)

// faultJSON is one fault of a script. Pointers and nil slices are "not
// given".
type faultJSON struct {
	// ID is the fault's id, which the program gives (faultState.add):
	// output only, ignored in PUT and the -faults file (GET's output goes
	// back as it is) and refused in POST (parseFaults).
	ID *int `json:"id,omitempty"`

	At                string         `json:"at,omitempty"`
	Greylist          bool           `json:"greylist,omitempty"`
	GreylistFor       *duration      `json:"greylistFor,omitempty"`
	RateLimit         *int           `json:"rateLimit,omitempty"`
	RateLimitPer      *rateLimitJSON `json:"rateLimitPer,omitempty"`
	MailboxFull       []string       `json:"mailboxFull,omitzero"` // [] (everyone) is not nil
	UnknownUser       []string       `json:"unknownUser,omitzero"`
	ShuttingDown      bool           `json:"shuttingDown,omitempty"`
	TooManyRecipients *int           `json:"tooManyRecipients,omitempty"`

	OnAttempt       []int    `json:"onAttempt,omitempty"`
	AtMost          *int     `json:"atMost,omitempty"`
	ForRcpt         []string `json:"forRcpt,omitempty"`
	ForSender       []string `json:"forSender,omitempty"`
	WithProbability *float64 `json:"withProbability,omitempty"`

	Reply          *replyJSON      `json:"reply,omitempty"`
	RawReply       *string         `json:"rawReply,omitempty"`
	Disconnect     bool            `json:"disconnect,omitempty"`
	Drop           bool            `json:"drop,omitempty"`
	ResetTCP       bool            `json:"resetTCP,omitempty"`
	HalfClose      bool            `json:"halfClose,omitempty"`
	Stall          bool            `json:"stall,omitempty"`
	Delay          *duration       `json:"delay,omitempty"`
	Trickle        *trickleJSON    `json:"trickle,omitempty"`
	SplitReply     *splitReplyJSON `json:"splitReply,omitempty"`
	DropAfterBytes *int64          `json:"dropAfterBytes,omitempty"`
	IdleReply      *idleReplyJSON  `json:"idleReply,omitempty"`

	ExpiredCertificate   bool   `json:"expiredCertificate,omitempty"`
	WrongHostCertificate bool   `json:"wrongHostCertificate,omitempty"`
	UntrustedCertificate bool   `json:"untrustedCertificate,omitempty"`
	TLSVersion           string `json:"tlsVersion,omitempty"`
	AbortHandshake       bool   `json:"abortHandshake,omitempty"`

	// DeclaredAt names the fault in transcript notes, instead of the
	// automatic "PUT /api/faults:3" (the request and the line of the
	// fault) or "faults.json:3": the suite's own file and line.
	DeclaredAt  string `json:"declaredAt,omitempty"`
	Description string `json:"description,omitempty"` // output only
}

type rateLimitJSON struct {
	N        int      `json:"n"`
	Interval duration `json:"interval"`
}

type trickleJSON struct {
	N     int      `json:"n"`
	Every duration `json:"every"`
}

type splitReplyJSON struct {
	At    int      `json:"at"`
	Pause duration `json:"pause"`
}

type idleReplyJSON struct {
	After duration `json:"after"`
	Code  int      `json:"code"`
	Text  string   `json:"text"`
}

// replyJSON is "421 4.3.2 text" or {"code": 421, "text": "4.3.2 text"}.
type replyJSON struct {
	Code int    `json:"code"`
	Text string `json:"text"`
}

func (r *replyJSON) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		code, text, _ := strings.Cut(s, " ")
		n, err := strconv.Atoi(code)
		if err != nil || len(code) != 3 {
			return fmt.Errorf("reply %q: want a three-digit code first, as in \"421 4.3.2 try later\"", clip(s))
		}
		r.Code, r.Text = n, text
		return nil
	}
	type plain replyJSON // without this method
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p plain
	if err := dec.Decode(&p); err != nil {
		const want = `reply: want "421 4.3.2 text" or {"code": 421, "text": "4.3.2 text"}`
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field == "":
			return fmt.Errorf("%s, got %s", want, jsonGot(te.Value))
		case te != nil:
			return fmt.Errorf("%s: %v", want, wrongType(te)) // "code: want a whole number, got a string"
		}
		return fmt.Errorf("%s: %v", want, err)
	}
	*r = replyJSON(p)
	return nil
}

// duration is a time.Duration written as a Go duration string.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	if isNull(b) {
		return nil // a key given null is left out (nullAt)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"2s\" or \"250ms\", got %s%s", clip(string(b)), unitHint(b))
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as \"2s\" or \"250ms\": %w", err)
	}
	*d = duration(v)
	return nil
}

// unitHint is the hint for a JSON number given as a duration, which has
// no unit: a suite in Python counts seconds (time.sleep, freezegun's
// tick), one in JavaScript milliseconds (setTimeout, its fake timers'
// tick), and each sends them so. It suggests the number in seconds and in
// milliseconds as durations the server parses (1e3 is "1000s" and
// "1000ms": a Go duration has no exponent), leaving out one past
// time.Duration's range (or longer than an error quotes), and is the bare
// hint when neither is left. "" for anything but a number.
func unitHint(raw []byte) string {
	var n json.Number
	if isNull(raw) || json.Unmarshal(raw, &n) != nil {
		return ""
	}
	const hint = ": a number has no unit"
	num := n.String()
	if strings.ContainsAny(num, "eE") {
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return hint
		}
		num = strconv.FormatFloat(f, 'f', -1, 64)
	}
	var says []string
	for _, u := range []struct{ unit, name string }{{"s", "seconds"}, {"ms", "milliseconds"}} {
		d := num + u.unit
		if _, err := time.ParseDuration(d); err == nil && len(d) <= maxQuoted {
			says = append(says, fmt.Sprintf("%q for %s", d, u.name))
		}
	}
	if len(says) == 0 {
		return hint
	}
	return hint + " (" + strings.Join(says, ", ") + ")"
}

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// stages maps the names of "at", in lower case, to stages.
var stages = map[string]mocksmtp.Stage{
	"connect": mocksmtp.StageConnect, "greeting": mocksmtp.StageGreeting,
	"helo": mocksmtp.StageHelo, "ehlo": mocksmtp.StageHelo, "starttls": mocksmtp.StageStartTLS,
	"auth": mocksmtp.StageAuth, "mail": mocksmtp.StageMail, "rcpt": mocksmtp.StageRcpt,
	"data": mocksmtp.StageData, "message": mocksmtp.StageMessage, "bdat": mocksmtp.StageBdat,
	"rset": mocksmtp.StageRset, "noop": mocksmtp.StageNoop, "quit": mocksmtp.StageQuit,
}

// faultKeys names, for the library's errors about faults
// (mocksmtp.Fault.Spelled), the Go API by what the program's users write
// for it: the keys of a fault, the stages as "at" names them, the flags.
// It is read only.
var faultKeys = map[string]string{
	"At": `"at"`, "OnAttempt": `"onAttempt"`, "AtMost": `"atMost"`, "ForRcpt": `"forRcpt"`,
	"ForSender": `"forSender"`, "WithProbability": `"withProbability"`,
	"Reply": `"reply"`, "RawReply": `"rawReply"`, "Disconnect": `"disconnect"`, "Drop": `"drop"`,
	"ResetTCP": `"resetTCP"`, "HalfClose": `"halfClose"`, "Stall": `"stall"`, "Delay": `"delay"`,
	"Trickle": `"trickle"`, "SplitReply": `"splitReply"`, "DropAfterBytes": `"dropAfterBytes"`,
	"IdleReply": `"idleReply"`, "ExpiredCertificate": `"expiredCertificate"`,
	"WrongHostCertificate": `"wrongHostCertificate"`, "UntrustedCertificate": `"untrustedCertificate"`,
	"TLSVersion": `"tlsVersion"`, "AbortHandshake": `"abortHandshake"`,
	"GreylistFor": `"greylistFor"`, "RateLimit": `"rateLimit"`, "RateLimitPer": `"rateLimitPer"`,
	"TooManyRecipients": `"tooManyRecipients"`, "WithoutExtensions": "-without-extensions",
	"StageConnect": "connect", "StageStartTLS": "STARTTLS", "StageAuth": "AUTH", "StageMail": "MAIL",
	"StageRcpt": "RCPT", "StageData": "DATA", "StageBdat": "BDAT", "StageMessage": "message",
}

// tlsVersions maps the names of "tlsVersion" to versions.
var tlsVersions = map[string]uint16{
	"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13,
}

// fault builds the Go fault, declared at where (for transcript notes).
func (j *faultJSON) fault(where string) (mocksmtp.Fault, error) {
	var f mocksmtp.Fault
	var kinds []string // where the fault acts: at, or a scenario
	if j.At != "" {
		name := strings.ToLower(strings.TrimPrefix(j.At, "Stage"))
		stage, ok := stages[name]
		if !ok {
			return f, fmt.Errorf("at %q: unknown stage (want connect, greeting, HELO, STARTTLS, AUTH, MAIL, RCPT, DATA, message, BDAT, RSET, NOOP or QUIT)", clip(j.At))
		}
		f = mocksmtp.At(stage)
		kinds = append(kinds, "at")
	}
	if j.Greylist {
		f = mocksmtp.Greylist()
		kinds = append(kinds, "greylist")
	}
	if j.GreylistFor != nil {
		f = mocksmtp.GreylistFor(time.Duration(*j.GreylistFor))
		kinds = append(kinds, "greylistFor")
	}
	if j.RateLimit != nil {
		f = mocksmtp.RateLimit(*j.RateLimit)
		kinds = append(kinds, "rateLimit")
	}
	if r := j.RateLimitPer; r != nil {
		f = mocksmtp.RateLimitPer(r.N, time.Duration(r.Interval))
		kinds = append(kinds, "rateLimitPer")
	}
	if j.MailboxFull != nil {
		f = mocksmtp.MailboxFull(j.MailboxFull...)
		kinds = append(kinds, "mailboxFull")
	}
	if j.UnknownUser != nil {
		f = mocksmtp.UnknownUser(j.UnknownUser...)
		kinds = append(kinds, "unknownUser")
	}
	if j.ShuttingDown {
		f = mocksmtp.ShuttingDown()
		kinds = append(kinds, "shuttingDown")
	}
	if j.TooManyRecipients != nil {
		f = mocksmtp.TooManyRecipients(*j.TooManyRecipients)
		kinds = append(kinds, "tooManyRecipients")
	}
	switch len(kinds) {
	case 0:
		return f, errors.New(`no "at" (nor a scenario such as "greylist"): where should the fault act?`)
	case 1:
	default:
		return f, fmt.Errorf("%s: give one of them", strings.Join(kinds, " and "))
	}

	if j.OnAttempt != nil {
		f = f.OnAttempt(j.OnAttempt...)
	}
	if j.AtMost != nil {
		f = f.AtMost(*j.AtMost)
	}
	if j.ForRcpt != nil {
		f = f.ForRcpt(j.ForRcpt...)
	}
	if j.ForSender != nil {
		f = f.ForSender(j.ForSender...)
	}
	if j.WithProbability != nil {
		f = f.WithProbability(*j.WithProbability)
	}

	if j.Delay != nil {
		f = f.Delay(time.Duration(*j.Delay))
	}
	if j.Reply != nil {
		f = f.Reply(j.Reply.Code, j.Reply.Text)
	}
	if j.RawReply != nil {
		f = f.RawReply(*j.RawReply)
	}
	if t := j.Trickle; t != nil {
		f = f.Trickle(t.N, time.Duration(t.Every))
	}
	if s := j.SplitReply; s != nil {
		f = f.SplitReply(s.At, time.Duration(s.Pause))
	}
	if j.DropAfterBytes != nil {
		f = f.DropAfterBytes(*j.DropAfterBytes)
	}
	if r := j.IdleReply; r != nil {
		f = f.IdleReply(time.Duration(r.After), r.Code, r.Text)
	}
	if j.ExpiredCertificate {
		f = f.ExpiredCertificate()
	}
	if j.WrongHostCertificate {
		f = f.WrongHostCertificate()
	}
	if j.UntrustedCertificate {
		f = f.UntrustedCertificate()
	}
	if j.TLSVersion != "" {
		v, ok := tlsVersions[strings.TrimPrefix(j.TLSVersion, "TLS ")]
		if !ok {
			return f, fmt.Errorf("tlsVersion %q: want 1.0, 1.1, 1.2 or 1.3", clip(j.TLSVersion))
		}
		f = f.TLSVersion(v)
	}
	if j.AbortHandshake {
		f = f.AbortHandshake()
	}
	if j.Disconnect {
		f = f.Disconnect()
	}
	if j.Drop {
		f = f.Drop()
	}
	if j.ResetTCP {
		f = f.ResetTCP()
	}
	if j.HalfClose {
		f = f.HalfClose()
	}
	if j.Stall {
		f = f.Stall()
	}
	f = f.DeclaredAt(where).Spelled(faultKeys)
	if err := f.Err(); err != nil {
		if problem := errors.Unwrap(err); problem != nil {
			err = problem // without "mocksmtp: fault at where": the caller says where
		}
		return f, err
	}
	return f, nil
}

// parseFaults reads a fault script. source names it in errors
// ("faults.json", "body"), which give the line and column of the
// problem; each fault is declared at label:line, as transcript notes say
// ("faults.json:3"), unless its "declaredAt" names the place. A key given
// null is left out; a null anywhere else (a fault, an element of a list)
// is refused (nullAt). An "id" is ignored, as "description" is, or,
// with refuseIDs (POST), refused: the program gives ids, and one a
// client picked would name another test's fault.
func parseFaults(data []byte, source, label string, refuseIDs bool) ([]faultJSON, []mocksmtp.Fault, error) {
	at := func(idx int64, format string, args ...any) error {
		return fmt.Errorf("%s:%s: "+format, append([]any{source, position(data, idx)}, args...)...)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, syntaxError(data, source, err)
	}
	if tok != json.Delim('[') {
		return nil, nil, at(skipSpace(data, 0), `want a JSON array of faults, [{"at": "RCPT", ...}, ...]`)
	}
	// First the JSON, each fault with where it starts; then the faults,
	// each slice made once at its size.
	var decoded []*faultJSON
	var starts []int64
	dec.DisallowUnknownFields()
	for dec.More() {
		// The fault starts after the separating comma, if any.
		start := skipSpace(data, dec.InputOffset())
		if start < int64(len(data)) && data[start] == ',' {
			start = skipSpace(data, start+1)
		}
		j := new(faultJSON)
		if err := dec.Decode(j); err != nil {
			// Decoded alone, the fault tells where its problem is.
			var raw json.RawMessage
			if json.NewDecoder(bytes.NewReader(data[start:])).Decode(&raw) != nil {
				return nil, nil, syntaxError(data, source, err)
			}
			n := len(decoded) + 1
			if key, off, err := failingKey(raw); err != nil {
				return nil, nil, at(start+off, "fault %d: %v", n, keyed(key, err))
			}
			return nil, nil, at(start, "fault %d: %v", n, err)
		}
		// encoding/json takes the last of a key given twice, in any case
		// (as it matches fields): one of them would be lost, silently.
		if key, twice := repeatedKey(data[start:dec.InputOffset()], true); twice {
			return nil, nil, at(start, "fault %d: %q given twice", len(decoded)+1, clip(key))
		}
		if n, ok := nullAt(data[start:dec.InputOffset()], reflect.TypeFor[faultJSON]()); ok {
			return nil, nil, at(start+n.off, "fault %d: %v", len(decoded)+1, n)
		}
		decoded = append(decoded, j)
		starts = append(starts, start)
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return nil, nil, syntaxError(data, source, err)
	}
	end := dec.InputOffset()
	if rest := skipSpace(data, end); rest < int64(len(data)) {
		return nil, nil, at(rest, "unexpected data after the array")
	}

	specs := make([]faultJSON, len(decoded))
	faults := make([]mocksmtp.Fault, len(decoded))
	lines := lineCounter{data: data, line: 1}
	for i, j := range decoded {
		if j.ID != nil && refuseIDs {
			return nil, nil, at(starts[i], "fault %d: \"id\" is the server's to give: POST answers the id of each fault it adds; leave it out", i+1)
		}
		j.ID = nil
		where := j.DeclaredAt
		if where == "" {
			where = label + ":" + strconv.Itoa(lines.at(starts[i]))
		} else if err := checkDeclaredAt(where); err != nil {
			return nil, nil, at(starts[i], "fault %d: %v", i+1, err)
		}
		f, err := j.fault(where)
		if err != nil {
			return nil, nil, at(starts[i], "fault %d: %v", i+1, err)
		}
		j.Description = f.String()
		specs[i], faults[i] = *j, f
	}
	return specs, faults, nil
}

// renamedKeys maps the keys renamed with the Go API to their new names.
var renamedKeys = map[string]string{"times": `"atMost" (Fault.AtMost: the fault fires at most n times)`}

// renamed adds to an error about an unknown key, met in the fault raw,
// the new name of the key, if it was renamed, or else the key it is
// near (hintKey).
func renamed(err error, raw []byte) error {
	if key, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		if now, ok := renamedKeys[strings.TrimSuffix(key, `"`)]; ok {
			return fmt.Errorf("%w: it is now %s", err, now)
		}
	}
	return hintKey(err, raw, reflect.TypeFor[faultJSON]())
}

// decodeFault decodes one fault strictly: unknown keys are errors.
func decodeFault(raw []byte) (faultJSON, error) {
	var j faultJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(&j)
	return j, err
}

// failingKey finds what is wrong in raw (a JSON object, a fault), and
// where: the first key, in the order written, whose value alone fails to
// decode, with its offset and its own error (hinted, if the key is
// unknown). The whole object's error is not used: encoding/json holds an
// unknown key's error back and returns a later value's, which would be
// put on the wrong key. With no such key, it decodes the whole object.
func failingKey(raw []byte) (string, int64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		_, err := decodeFault(raw)
		return "", 0, renamed(err, raw)
	}
	for dec.More() {
		off := skipSpace(raw, dec.InputOffset())
		if off < int64(len(raw)) && raw[off] == ',' {
			off = skipSpace(raw, off+1)
		}
		tok, err := dec.Token()
		var v json.RawMessage
		if err != nil || dec.Decode(&v) != nil {
			break
		}
		k, _ := tok.(string)
		one, _ := json.Marshal(map[string]json.RawMessage{k: v})
		if _, err := decodeFault(one); err != nil {
			return k, off, renamed(err, one)
		}
	}
	_, err := decodeFault(raw)
	if err != nil {
		err = renamed(err, raw)
	}
	return "", 0, err
}

// keyed names key in err, a value's error, unless the error names it
// already: encoding/json's words (an unknown key; a value of the wrong
// type) and a value's own words that start with the key ("reply: want
// ..."). The errors of the values' other types ("time: missing unit in
// duration") do not.
func keyed(key string, err error) error {
	var typeErr *json.UnmarshalTypeError
	if key == "" || errors.As(err, &typeErr) || strings.HasPrefix(err.Error(), "json: unknown field ") {
		return err
	}
	if msg := err.Error(); len(msg) > len(key) && strings.EqualFold(msg[:len(key)], key) && strings.ContainsRune(": ", rune(msg[len(key)])) {
		return err
	}
	return fmt.Errorf("%s: %w", clip(key), err)
}

// syntaxError places a syntax error of the script. The decoder's offsets
// are not from the start of the input, so the whole input is checked
// again to find it.
func syntaxError(data []byte, source string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s:%s: unexpected end of JSON", source, position(data, int64(len(data))))
	}
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(data, new(any)), &se) {
		return fmt.Errorf("%s:%s: %v", source, position(data, se.Offset-1), se)
	}
	return fmt.Errorf("%s: %v", source, err)
}

// position turns the index of a byte into "line:column", both from 1.
func position(data []byte, idx int64) string {
	idx = min(max(idx, 0), int64(len(data)))
	before := data[:idx]
	line := bytes.Count(before, []byte("\n")) + 1
	col := idx - int64(bytes.LastIndexByte(before, '\n'))
	return fmt.Sprintf("%d:%d", line, col)
}

// lineCounter numbers the lines of data for offsets asked in increasing
// order, in one pass over data however many are asked: the line of each
// fault of a script of 65,534.
type lineCounter struct {
	data []byte
	off  int64 // counted up to here
	line int   // the line of off, from 1
}

// at returns the line of the byte at idx, which is not before the last
// one asked.
func (lc *lineCounter) at(idx int64) int {
	idx = min(max(idx, lc.off), int64(len(lc.data)))
	lc.line += bytes.Count(lc.data[lc.off:idx], []byte("\n"))
	lc.off = idx
	return lc.line
}

func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.ContainsRune(" \t\r\n", rune(data[off])) {
		off++
	}
	return off
}

// loadFaults reads the -faults file.
func loadFaults(path string) ([]faultJSON, []mocksmtp.Fault, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("-faults: %w", err)
	}
	return parseFaults(data, path, filepath.Base(path), false)
}

// faultState is the script as the API shows it, each fault with its id
// and the function that removes it from the server's script. The server
// holds the faults themselves; this is their JSON.
type faultState struct {
	mu sync.Mutex // guards the fields below, and serializes changes to the server's script
	// change changes the server's script, each fault added removable on
	// its own (faultset.Change, Server.AddRemovableFault's mechanism);
	// the server gives it through faultsOption. nil for a server made
	// without it (tests of other parts of the API).
	change faultset.Change[mocksmtp.Fault]
	// script is the script, in its order, which is the order of the ids.
	script []scriptFault
	lastID int // the last id given: ids are never given again in a run
}

// scriptFault is one fault of the script.
type scriptFault struct {
	spec   faultJSON // with its ID
	remove func()    // removes it from the server's script, the others keeping their state
}

// option returns the option of mocksmtp.New that gives s the server's
// way to change its script, and the removes of specs, the faults given
// to New with WithFault (the -faults file), which get the first ids.
func (s *faultState) option(specs []faultJSON) mocksmtp.Option {
	return faultsOption{state: s, specs: specs}
}

// faultsOption is faultState.option: mocksmtp.New hands it the server's
// faultset.Change and applies nothing else, so the nil Option it embeds,
// for its method set, is never called (as clockOption's).
type faultsOption struct {
	mocksmtp.Option
	state *faultState
	specs []faultJSON
}

func (o faultsOption) TakeFaultChange(change faultset.Change[mocksmtp.Fault], removes []func()) {
	o.state.mu.Lock()
	defer o.state.mu.Unlock()
	o.state.change = change
	o.state.addLocked(o.specs, removes)
}

// addLocked adds specs to the script, with their removes, each with the
// next id, and returns them so. s.mu is held.
func (s *faultState) addLocked(specs []faultJSON, removes []func()) []faultJSON {
	ids := make([]int, len(specs)) // one allocation for the ids of a script of 65,534
	added := make([]faultJSON, len(specs))
	s.script = slices.Grow(s.script, len(specs))
	for i, spec := range specs {
		s.lastID++
		ids[i] = s.lastID
		spec.ID = &ids[i]
		added[i] = spec
		s.script = append(s.script, scriptFault{spec: spec, remove: removes[i]})
	}
	return added
}

// specsLocked returns the script's faults as JSON. s.mu is held.
func (s *faultState) specsLocked() []faultJSON {
	out := make([]faultJSON, len(s.script))
	for i, f := range s.script {
		out[i] = f.spec
	}
	return out
}

// maxFaultBody bounds the body of PUT and POST /api/faults.
const maxFaultBody = 1 << 20

func (a *api) getFaults(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	a.faults.mu.Lock()
	out := a.faults.specsLocked()
	a.faults.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// putFaults replaces the script and answers it; postFaults appends to it
// and answers the faults it added, each with its id.
func (a *api) putFaults(w http.ResponseWriter, r *http.Request)  { a.setFaults(w, r, true) }
func (a *api) postFaults(w http.ResponseWriter, r *http.Request) { a.setFaults(w, r, false) }

func (a *api) setFaults(w http.ResponseWriter, r *http.Request, replace bool) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	data, ok := readBody(w, r, maxFaultBody)
	if !ok {
		return
	}
	if len(data) == 0 {
		writeError(w, http.StatusBadRequest, "%s: no body; want a JSON array of faults, such as [{\"at\": \"RCPT\", \"reply\": \"421 4.3.2 try later\"}] ([] for none)", requestName(r))
		return
	}
	specs, faults, err := parseFaults(data, "body", r.Method+" /api/faults", !replace)
	if err != nil {
		// Its own words clip what they quote; those of encoding/json,
		// time and the root package's faults are clipped here.
		writeError(w, http.StatusBadRequest, "%s: %s", requestName(r), clipQuoted(err))
		return
	}
	a.faults.mu.Lock()
	if a.faults.change == nil {
		a.faults.mu.Unlock()
		writeError(w, http.StatusInternalServerError, "%s: the server was made without the program's fault option (faultState.option)", requestName(r))
		return
	}
	removes, err := a.faults.change(replace, faults)
	if err != nil {
		a.faults.mu.Unlock()
		writeError(w, http.StatusBadRequest, "%s: %s", requestName(r), clipQuoted(err))
		return
	}
	if replace {
		a.faults.script = nil
	}
	out := a.faults.addLocked(specs, removes)
	a.faults.mu.Unlock()
	a.log.Info("faults set", "added", len(faults), "replaced", replace)
	writeJSON(w, http.StatusOK, out)
}

// readBody reads a request body of at most limit bytes, or answers 413
// (too large) or 400 (cut short, or too slow: the read timeout). A body
// of only JSON whitespace is no body, as an empty one is: nil.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "%s: the body is larger than %d bytes", requestName(r), limit)
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "%s: reading the body: %v", requestName(r), err)
		return nil, false
	}
	if skipSpace(data, 0) == int64(len(data)) {
		return nil, true
	}
	return data, true
}

func (a *api) deleteFaults(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	a.faults.mu.Lock()
	a.srv.ClearFaults()
	a.faults.script = nil
	a.faults.mu.Unlock()
	a.log.Info("faults cleared")
	w.WriteHeader(http.StatusNoContent)
}

// deleteFault removes the fault of the path's id, and no other: the
// others keep their state (Server.AddRemovableFault).
func (a *api) deleteFault(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	a.faults.mu.Lock()
	defer a.faults.mu.Unlock()
	i, found := slices.BinarySearchFunc(a.faults.script, id, func(f scriptFault, id int) int { return cmp.Compare(*f.spec.ID, id) })
	if !found {
		switch last := a.faults.lastID; {
		case id == 0:
			writeError(w, http.StatusNotFound, "no fault 0: ids start at 1")
		case id <= last:
			writeError(w, http.StatusNotFound, "no fault %d: removed (DELETE /api/faults/%d, DELETE /api/faults, or PUT /api/faults, which replaces every fault); an id is never given again", id, id)
		default:
			writeError(w, http.StatusNotFound, "no fault %d: the last id given is %d", id, last)
		}
		return
	}
	a.faults.script[i].remove()
	a.faults.script = slices.Delete(a.faults.script, i, i+1)
	a.log.Info("fault removed", "id", id)
	w.WriteHeader(http.StatusNoContent)
}
