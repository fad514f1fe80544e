// Package idle is the hook through which the engine tells a driver's
// context when it waits for the client and when it writes: the time of
// mocksmtp's IdleReply fault, the client's silence, runs only while the
// server waits, from when it has written its whole reply, not while it
// writes a paced reply or works on what it read; and a scenario keeps
// what a reply told the client when the reply goes out, which for
// pipelined commands is after the delays of those after it.
//
// The root package puts a [Watch] in the contexts it passes to
// smtpd.Conn.Next and Pause ([With]); the engine finds it there ([From])
// and calls it around its blocking reads and its writes. Only this
// module can name the package.
package idle

import (
	"context"
	"time"
)

// Watch is told what the server of one connection does, and when: now
// is the session's time on the clock of the context (internal/clock),
// from which the server's own waits count too (a delay, a paced reply's
// pauses): real time, plus, on a clock a test moves, its moves until
// the client was last waited for and what the session's waits used of
// those since (a move since that no wait used yet is not in now: it
// still counts for the next wait, which ends that much sooner).
// Its methods are called on the connection's goroutine, in the order
// the server does what they say.
type Watch interface {
	// Waiting says that the server has written its replies and waits
	// for the client: a command, message data, a chunk, a TLS handshake.
	Waiting(now time.Time)
	// Replying says that the server is about to write: buffered
	// replies, or one part of a paced reply.
	Replying(now time.Time)
}

type key struct{}

// With returns ctx carrying w, for the engine (From).
func With(ctx context.Context, w Watch) context.Context {
	return context.WithValue(ctx, key{}, w)
}

// From returns the Watch ctx carries, or nil.
func From(ctx context.Context) Watch {
	w, _ := ctx.Value(key{}).(Watch)
	return w
}
