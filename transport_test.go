package mocksmtp_test

import (
	"slices"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// transport is how a test that runs over every transport reaches the
// server: the same test, the same client code (through Server.Dial), the
// same assertions, over TCP and in memory, shows that a client sees the
// same behaviour both ways.
type transport struct {
	name string
	opts []mocksmtp.Option
}

var transports = []transport{
	{"tcp", nil},
	{"memory", []mocksmtp.Option{mocksmtp.WithInMemory()}},
}

// overTransports runs test over each transport, in parallel subtests
// named after them.
func overTransports(t *testing.T, test func(t *testing.T, via transport)) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) { test(t, tr) })
	}
}

// start is mocksmtp.Start with the transport's options.
func (tr transport) start(t *testing.T, opts ...mocksmtp.Option) *mocksmtp.Server {
	t.Helper()
	return mocksmtp.Start(t, slices.Concat(opts, tr.opts)...)
}
