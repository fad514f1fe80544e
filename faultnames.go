package mocksmtp

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Spelled makes the fault's errors (from [Fault.Err], [New],
// [Server.AddFault] and [Server.ReplaceFaults]) name the methods, stages,
// scenarios and options they mention as names maps them, for a program
// whose users declare faults in another form: the mocksmtp program maps
// the methods to the keys of its JSON faults,
//
//	map[string]string{"RawReply": `"rawReply"`, "StageData": `"at": "DATA"`, ...}
//
// so that a fault with both replies says `"rawReply" after "reply": 421`
// where a Go test reads "RawReply after Reply(421)". A call's arguments
// follow its new name after ": ". A name the map does not have is kept.
// Keys are the Go names, without arguments: the methods of Fault, the
// scenarios ([Greylist]...), the stages (StageData; also where an error
// says the fault's own, "end of message" in Go) and the options the
// errors point to (WithoutExtensions; those of [WithOptionNames] are the
// server's to rename). A key that names nothing the errors say makes the
// fault invalid (a misspelt key would rename nothing). The fault is
// otherwise unchanged: Spelled is about its errors only.
func (f Fault) Spelled(names map[string]string) Fault {
	for _, n := range slices.Sorted(maps.Keys(names)) {
		if !slices.Contains(spelledNames, n) {
			return f.fail("Spelled: %q names nothing the errors of a fault say (want one of %s)", n, strings.Join(spelledNames, ", "))
		}
	}
	f.names = maps.Clone(names)
	return f
}

// spelledNames are the Go names fault errors say, which Spelled renames.
var spelledNames = []string{
	"At", "OnAttempt", "AtMost", "ForRcpt", "ForSender", "WithProbability",
	"Reply", "RawReply", "Disconnect", "Drop", "ResetTCP", "HalfClose", "Stall",
	"Delay", "Trickle", "SplitReply", "DropAfterBytes", "IdleReply",
	"ExpiredCertificate", "WrongHostCertificate", "UntrustedCertificate", "TLSVersion", "AbortHandshake",
	"GreylistFor", "RateLimit", "RateLimitPer", "TooManyRecipients",
	"StageConnect", "StageGreeting", "StageHelo", "StageStartTLS", "StageAuth", "StageMail", "StageRcpt",
	"StageData", "StageMessage", "StageBdat", "StageRset", "StageNoop", "StageQuit",
	"WithoutExtensions",
}

// stageGoNames are the Go names of the stages: an error that says a
// fault's stage (a Stage among its arguments, "RCPT", "end of message")
// says it as Spelled's key for it does.
var stageGoNames = [...]string{
	StageConnect: "StageConnect", StageGreeting: "StageGreeting", StageHelo: "StageHelo",
	StageStartTLS: "StageStartTLS", StageAuth: "StageAuth", StageMail: "StageMail",
	StageRcpt: "StageRcpt", StageData: "StageData", StageMessage: "StageMessage",
	StageBdat: "StageBdat", StageRset: "StageRset", StageNoop: "StageNoop", StageQuit: "StageQuit",
}

// apiName is a name of the Go API in a fault's error, with the arguments
// of a call ("Reply(421)"), which the fault's Spelled names rename.
type apiName struct {
	name string // a key of spelledNames
	args string // "421"; "" for a bare name
	call bool   // written as a call, with its parentheses
}

// api is a bare name in a fault's error: "RawReply", "StageData".
func api(name string) apiName { return apiName{name: name} }

// call is a call in a fault's error: call("Reply", 421) is "Reply(421)".
func call(name string, args ...any) apiName {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = fmt.Sprint(a)
	}
	return apiName{name: name, args: strings.Join(s, ", "), call: true}
}

// spell returns the name as names spell it.
func (n apiName) spell(names map[string]string) string {
	if s, ok := names[n.name]; ok {
		if n.args != "" {
			return s + ": " + n.args
		}
		return s
	}
	if n.call {
		return n.name + "(" + n.args + ")"
	}
	return n.name
}

// faultError is why a fault is invalid: a format and its arguments, kept
// apart until the error is said, so that the names of the API among the
// arguments (apiName, and other faultErrors) are spelled as the fault
// says (Spelled), and nothing the user wrote (a pattern, a text) is taken
// for one.
type faultError struct {
	format string
	args   []any
}

func failure(format string, args ...any) *faultError {
	return &faultError{format: format, args: args}
}

// Error says the error with the Go names.
func (e *faultError) Error() string { return e.spell(nil) }

// spell says the error with the names as names spells them.
func (e *faultError) spell(names map[string]string) string {
	args := make([]any, len(e.args))
	for i, a := range e.args {
		switch a := a.(type) {
		case apiName:
			args[i] = a.spell(names)
		case *faultError:
			args[i] = a.spell(names)
		case Stage:
			args[i] = a // its String: "RCPT", "end of message"
			if a > 0 && int(a) < len(stageGoNames) {
				if n, ok := names[stageGoNames[a]]; ok {
					args[i] = n
				}
			}
		default:
			args[i] = a
		}
	}
	return fmt.Sprintf(e.format, args...)
}

// spelled returns err said with the fault's names.
func (f Fault) spelled(err *faultError) error {
	if f.names == nil {
		return err
	}
	return errors.New(err.spell(f.names))
}
