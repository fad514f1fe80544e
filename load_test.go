package mocksmtp_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp"
)

// The load tests run many clients at once against one server, half of
// them Go's net/smtp and half a raw client that pipelines (the end of
// each message's data goes out with the next message's MAIL, RCPT and
// DATA in one write), and check the one promise that matters under load:
// every message a client saw a 250 for is recorded exactly once, byte for
// byte, and nothing else is recorded unless a fault explains it.

// loadMsg is one message a load client sends, and what became of it.
type loadMsg struct {
	client, n int
	from, to  string
	data      []byte // the message as the client means it (before dot-stuffing)
	attempts  int    // transactions started for it (MAIL sent)
	confirmed string // the EHLO name of the connection that saw its 250, "" if none
	gaveUp    bool   // it ran out of attempts
}

// newLoadMsg builds message n of client i: unique (envelope sender,
// X-Load header), of varying size, with lines that need dot-stuffing.
func newLoadMsg(i, n int) *loadMsg {
	r := rand.New(rand.NewPCG(uint64(i), uint64(n)))
	m := &loadMsg{client: i, n: n,
		from: fmt.Sprintf("c%d.m%d@load.example", i, n),
		to:   fmt.Sprintf("rcpt%d@load.example", i),
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: load %d/%d\r\nMessage-ID: <%d.%d@load.example>\r\nX-Load: client-%d msg-%d\r\n\r\n",
		m.from, m.to, i, n, i, n, i, n)
	size := 200 + r.IntN(4<<10)
	if r.IntN(20) == 0 {
		size = 16<<10 + r.IntN(48<<10)
	}
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_=+/"
	for b.Len() < size {
		switch r.IntN(12) {
		case 0:
			b.WriteString(".\r\n") // the end of data, unless stuffed
		case 1:
			b.WriteString("..\r\n")
		case 2:
			fmt.Fprintf(&b, ".leading dot %d\r\n", r.IntN(1000))
		case 3:
			b.WriteString("\r\n")
		default:
			for range 1 + r.IntN(120) {
				b.WriteByte(chars[r.IntN(len(chars))])
			}
			b.WriteString("\r\n")
		}
	}
	m.data = b.Bytes()
	return m
}

// dotStuffed returns the message as DATA carries it, final dot included.
func dotStuffed(data []byte) []byte {
	var b bytes.Buffer
	for line := range bytes.Lines(data) {
		if line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

// loadClient sends its messages over as many connections as it takes.
type loadClient struct {
	id    int
	raw   bool // the raw pipelining client; otherwise net/smtp
	retry bool // reconnect and retry after a failure; otherwise stop at the first
	limit int  // messages to send
	// maxAttempts bounds the transactions per message when retrying.
	maxAttempts int

	msgs  []*loadMsg // every message made so far, in order
	queue []*loadMsg // messages to (re)send
	conns int
	last  *loadMsg // the message of the last transaction started
	err   error    // the failure that stopped a client that does not retry
	bad   []string // what the server must never do: each one fails the test
}

// opTimeout bounds every exchange of a load client: a server that hangs
// fails the test instead of blocking it.
const opTimeout = 20 * time.Second

// maxLoadConns bounds the connections of one client.
const maxLoadConns = 500

func (c *loadClient) run(addr string) {
	for c.conns < maxLoadConns {
		if len(c.queue) == 0 && len(c.msgs) >= c.limit {
			return
		}
		c.conns++
		name := fmt.Sprintf("c%d-a%d", c.id, c.conns)
		var err error
		if c.raw {
			err = c.rawSession(addr, name)
		} else {
			err = c.netSession(addr, name)
		}
		if err == nil {
			continue
		}
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			c.bad = append(c.bad, fmt.Sprintf("connection %s: the server did not answer within %v: %v", name, opTimeout, err))
			return
		}
		if !c.retry {
			c.err = err
			return
		}
	}
	c.bad = append(c.bad, fmt.Sprintf("gave up after %d connections with %d messages to send", c.conns, len(c.queue)))
}

// next returns the next message to send, or nil when there is none.
func (c *loadClient) next() *loadMsg {
	if len(c.queue) > 0 {
		m := c.queue[0]
		c.queue = c.queue[1:]
		return m
	}
	if len(c.msgs) < c.limit {
		m := newLoadMsg(c.id, len(c.msgs))
		c.msgs = append(c.msgs, m)
		return m
	}
	return nil
}

// failed puts a message that did not get its 250 back in the queue, or
// gives up on it.
func (c *loadClient) failed(m *loadMsg) {
	if m == nil {
		return
	}
	if !c.retry || m.attempts >= c.maxAttempts {
		m.gaveUp = true
		return
	}
	c.queue = append(c.queue, m)
}

// netSession sends messages over one connection with net/smtp until the
// queue is empty (nil) or the connection fails.
func (c *loadClient) netSession(addr, name string) (err error) {
	nc, err := net.DialTimeout("tcp", addr, opTimeout)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(opTimeout))
	cl, err := smtp.NewClient(nc, "localhost")
	if err != nil {
		return err
	}
	if err := cl.Hello(name); err != nil {
		return err
	}
	for {
		m := c.next()
		if m == nil {
			return cl.Quit()
		}
		nc.SetDeadline(time.Now().Add(opTimeout))
		m.attempts++
		c.last = m
		err := netSend(cl, m)
		if err == nil {
			m.confirmed = name
			continue
		}
		c.failed(m)
		if te := (*textproto.Error)(nil); errors.As(err, &te) {
			switch {
			case te.Code == 421:
				return err
			case te.Code/100 == 4:
				if err := cl.Reset(); err != nil {
					return err
				}
				continue
			}
			c.bad = append(c.bad, fmt.Sprintf("connection %s, message %s: unexpected reply %v", name, m.from, te))
		}
		return err
	}
}

func netSend(cl *smtp.Client, m *loadMsg) error {
	if err := cl.Mail(m.from); err != nil {
		return err
	}
	if err := cl.Rcpt(m.to); err != nil {
		return err
	}
	w, err := cl.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(m.data); err != nil {
		return err
	}
	return w.Close()
}

// loadConn is the raw client's connection.
type loadConn struct {
	nc net.Conn
	br *bufio.Reader
}

// reply reads one reply and returns its code and last line.
func (lc *loadConn) reply() (int, string, error) {
	for {
		l, err := lc.br.ReadString('\n')
		if err != nil {
			return 0, l, err
		}
		if len(l) < 6 || !strings.HasSuffix(l, "\r\n") || l[3] != ' ' && l[3] != '-' {
			return 0, l, fmt.Errorf("malformed reply line %q", l)
		}
		code, err := strconv.Atoi(l[:3])
		if err != nil {
			return 0, l, fmt.Errorf("malformed reply line %q", l)
		}
		if l[3] == ' ' {
			return code, strings.TrimSuffix(l, "\r\n"), nil
		}
	}
}

func (lc *loadConn) write(b []byte) error {
	_ = lc.nc.SetDeadline(time.Now().Add(opTimeout))
	_, err := lc.nc.Write(b)
	return err
}

// replyErr is a negative reply seen by the raw client.
type replyErr struct {
	code int
	line string
}

func (e *replyErr) Error() string { return e.line }

func loadEnvelope(m *loadMsg) []byte {
	return fmt.Appendf(nil, "MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n", m.from, m.to)
}

// rawSession sends messages over one connection, pipelining: MAIL, RCPT
// and DATA in one write, and the message data with the next message's
// MAIL, RCPT and DATA (or QUIT) in one write.
func (c *loadClient) rawSession(addr, name string) error {
	nc, err := net.DialTimeout("tcp", addr, opTimeout)
	if err != nil {
		return err
	}
	defer nc.Close()
	lc := &loadConn{nc: nc, br: bufio.NewReader(nc)}
	_ = nc.SetDeadline(time.Now().Add(opTimeout))
	if code, line, err := lc.reply(); err != nil || code != 220 {
		return c.rawFailure(name, nil, "greeting", code, line, err)
	}
	if err := lc.write([]byte("EHLO " + name + "\r\n")); err != nil {
		return err
	}
	if code, line, err := lc.reply(); err != nil || code != 250 {
		return c.rawFailure(name, nil, "EHLO", code, line, err)
	}
	m := c.next()
	if m == nil {
		return c.rawQuit(lc, []byte("QUIT\r\n"))
	}
	m.attempts++
	c.last = m
	if err := lc.write(loadEnvelope(m)); err != nil {
		c.failed(m)
		return err
	}
	for {
		// The replies to MAIL, RCPT and DATA.
		var codes [3]int
		for i := range codes {
			code, line, err := lc.reply()
			if err != nil {
				c.failed(m)
				return err
			}
			codes[i] = code
			if code == 421 {
				c.failed(m)
				return &replyErr{code, line}
			}
			want := []int{250, 250, 354}[i]
			// After a refused RCPT, DATA is refused too (503 or 554).
			if code != want && code/100 != 4 && !(i == 2 && codes[1] != 250 && code/100 == 5) {
				c.failed(m)
				return c.rawFailure(name, m, []string{"MAIL", "RCPT", "DATA"}[i], code, line, nil)
			}
		}
		if codes != [3]int{250, 250, 354} {
			c.failed(m)
			if err := lc.write([]byte("RSET\r\n")); err != nil {
				return err
			}
			if code, line, err := lc.reply(); err != nil || code != 250 {
				return c.rawFailure(name, nil, "RSET", code, line, err)
			}
			if m = c.next(); m == nil {
				return c.rawQuit(lc, []byte("QUIT\r\n"))
			}
			m.attempts++
			c.last = m
			if err := lc.write(loadEnvelope(m)); err != nil {
				c.failed(m)
				return err
			}
			continue
		}
		following := c.next()
		out := dotStuffed(m.data)
		if following != nil {
			following.attempts++
			out = append(out, loadEnvelope(following)...)
		} else {
			out = append(out, "QUIT\r\n"...)
		}
		werr := lc.write(out)
		code, line, err := lc.reply()
		switch {
		case err == nil && code == 250:
			m.confirmed = name
		case err == nil && code/100 == 4:
			c.failed(m)
		case err == nil:
			c.failed(m)
			c.failed(following)
			return c.rawFailure(name, m, "end of data", code, line, nil)
		default:
			c.failed(m)
			c.failed(following)
			return errors.Join(werr, err)
		}
		if following == nil {
			if code, line, err := lc.reply(); err != nil || code != 221 {
				return c.rawFailure(name, nil, "QUIT", code, line, err)
			}
			return nil
		}
		if code == 421 {
			c.failed(following)
			return &replyErr{code, line}
		}
		m = following
		c.last = m
	}
}

// rawFailure classifies a failed exchange: lost connections and 4xx
// replies are what faults and shutdowns cause; anything else is a bug.
func (c *loadClient) rawFailure(name string, m *loadMsg, what string, code int, line string, err error) error {
	if err != nil {
		return err
	}
	if code/100 != 4 {
		msg := ""
		if m != nil {
			msg = ", message " + m.from
		}
		c.bad = append(c.bad, fmt.Sprintf("connection %s%s: unexpected reply to %s: %q", name, msg, what, line))
	}
	return &replyErr{code, line}
}

func (c *loadClient) rawQuit(lc *loadConn, quit []byte) error {
	if err := lc.write(quit); err != nil {
		return err
	}
	_, _, err := lc.reply()
	return err
}

// runLoad runs n clients (alternately net/smtp and raw) of perClient
// messages each, and returns them when all have stopped.
func runLoadClients(addr string, n, perClient int, retry bool) []*loadClient {
	clients := make([]*loadClient, n)
	var wg sync.WaitGroup
	for i := range clients {
		c := &loadClient{id: i, raw: i%2 == 1, retry: retry, limit: perClient, maxAttempts: 12}
		clients[i] = c
		wg.Go(func() { c.run(addr) })
	}
	wg.Wait()
	return clients
}

// resetAfterAccept names the fault that accepts a message and then resets
// the connection: the 250 may be lost, so the client may send the
// message again although it was recorded.
const resetAfterAccept = "reset-after-accept"

// checkRecorded compares what the server recorded with what the clients
// saw. A message is recorded in the session whose client saw its 250,
// once, byte for byte. Any other record of it must come from a session a
// resetAfterAccept fault ended right after it (the client could not know),
// or, when closing is set, be the last message a client started (Close
// came between recording it and its 250). It returns the number of such
// unconfirmed records.
func checkLoadRecorded(t *testing.T, srv *mocksmtp.Server, clients []*loadClient, closing bool) (unconfirmed int) {
	t.Helper()
	want := make(map[string]*loadMsg)
	for _, c := range clients {
		for _, m := range c.msgs {
			want[m.from] = m
		}
	}
	recs := make(map[string][]*mocksmtp.Message)
	msgs := srv.Messages()
	for _, m := range msgs {
		lm := want[m.From]
		if lm == nil {
			t.Errorf("message %d from <%s>: no client sent it", m.ID, m.From)
			continue
		}
		recs[m.From] = append(recs[m.From], m)
		if !bytes.Equal(m.Raw, lm.data) {
			i := 0
			for i < len(m.Raw) && i < len(lm.data) && m.Raw[i] == lm.data[i] {
				i++
			}
			t.Errorf("message %d from <%s>: Raw (%d octets) differs from what was sent (%d octets) at octet %d: got %q, want %q",
				m.ID, m.From, len(m.Raw), len(lm.data), i, loadExcerpt(m.Raw, i), loadExcerpt(lm.data, i))
		}
		if len(m.To) != 1 || m.To[0] != lm.to {
			t.Errorf("message %d from <%s>: To = %q, want [%s]", m.ID, m.From, m.To, lm.to)
		}
	}
	confirmed := 0
	for from, lm := range want {
		inConfirmed := 0
		for _, m := range recs[from] {
			s := srv.Session(m.Session.ID) // with its messages and faults
			switch {
			case lm.confirmed != "" && s.Helo == lm.confirmed:
				inConfirmed++
			case endedByResetAfter(s, m):
				unconfirmed++
			case closing && clients[lm.client].last == lm && lm.confirmed == "":
				unconfirmed++
			default:
				t.Errorf("message <%s> recorded in session %d (%s, faults %q) but its client did not see the 250 there (confirmed in %q)",
					from, s.ID, s.Helo, s.Faults, lm.confirmed)
			}
		}
		if lm.confirmed != "" {
			confirmed++
			if inConfirmed != 1 {
				t.Errorf("message <%s>: the client saw 250 in connection %s, recorded there %d times (%d records in all)",
					from, lm.confirmed, inConfirmed, len(recs[from]))
			}
		}
	}
	if len(msgs) != confirmed+unconfirmed {
		t.Errorf("%d messages recorded, want %d confirmed + %d unconfirmed", len(msgs), confirmed, unconfirmed)
	}
	return unconfirmed
}

// endedByResetAfter reports whether m is the last message of a session
// that the resetAfterAccept fault ended: the fault fired for it.
func endedByResetAfter(s *mocksmtp.Session, m *mocksmtp.Message) bool {
	if len(s.Messages) == 0 || s.Messages[len(s.Messages)-1].ID != m.ID {
		return false
	}
	for _, f := range s.Faults {
		if strings.HasPrefix(f, resetAfterAccept+":") {
			return true
		}
	}
	return false
}

func loadExcerpt(b []byte, i int) []byte {
	return b[max(0, i-20):min(len(b), i+20)]
}

func TestLoadNothingLost(t *testing.T) {
	t.Parallel()
	clients, perClient := 50, 40
	if testing.Short() {
		clients, perClient = 20, 20
	}
	srv := mocksmtp.Start(t,
		mocksmtp.WithSeed(6),
		mocksmtp.WithFault(
			mocksmtp.At(mocksmtp.StageGreeting).WithProbability(0.1).Reply(421, "4.3.2 not now").Disconnect(),
			mocksmtp.At(mocksmtp.StageRcpt).WithProbability(0.05).Reply(451, "4.3.0 try again"),
			mocksmtp.At(mocksmtp.StageData).WithProbability(0.02).DropAfterBytes(300),
			mocksmtp.At(mocksmtp.StageData).WithProbability(0.02).Reply(421, "4.3.2 closing").Disconnect(),
			mocksmtp.At(mocksmtp.StageMessage).WithProbability(0.03).Reply(452, "4.3.1 insufficient storage"),
			mocksmtp.At(mocksmtp.StageMessage).WithProbability(0.02).Disconnect(),
			mocksmtp.At(mocksmtp.StageMessage).WithProbability(0.01).Reply(250, "2.0.0 queued").ResetTCP().DeclaredAt(resetAfterAccept),
		),
	)
	cs := runLoadClients(srv.Addr(), clients, perClient, true)
	sent, conns, attempts, gaveUp := 0, 0, 0, 0
	for _, c := range cs {
		for _, b := range c.bad {
			t.Errorf("client %d: %s", c.id, b)
		}
		conns += c.conns
		for _, m := range c.msgs {
			sent++
			attempts += m.attempts
			if m.gaveUp {
				gaveUp++
			}
			if m.confirmed == "" && !m.gaveUp {
				t.Errorf("message <%s>: neither confirmed nor given up", m.from)
			}
		}
	}
	if sent != clients*perClient {
		t.Errorf("%d messages made, want %d", sent, clients*perClient)
	}
	unconfirmed := checkLoadRecorded(t, srv, cs, false)

	// Every kind of fault fired (each is expected 20 times or more at full scale).
	fired := make(map[string]int)
	for _, s := range srv.Sessions() {
		for _, f := range s.Faults {
			_, what, _ := strings.Cut(f, "→ ")
			// A DropAfterBytes that a 421 at DATA after it leaves no
			// data to cut fires still, its note saying "; DropAfterBytes
			// not done: ...": the same kind.
			what, _, _ = strings.Cut(what, "; ")
			fired[what]++
		}
	}
	if !testing.Short() && len(fired) != 7 {
		t.Errorf("faults fired: %v; want all 7 kinds", fired)
	}
	t.Logf("%d clients × %d messages: %d connections, %d transactions, %d messages recorded (%d unconfirmed after a reset), %d given up; faults %v",
		clients, perClient, conns, attempts, len(srv.Messages()), unconfirmed, gaveUp, fired)
}

func TestLoadCloseReturnsPromptly(t *testing.T) {
	t.Parallel()
	clients := 50
	if testing.Short() {
		clients = 20
	}
	srv := mocksmtp.Start(t, mocksmtp.WithoutTranscriptLog())
	var (
		cs = make([]*loadClient, clients)
		wg sync.WaitGroup
	)
	for i := range cs {
		c := &loadClient{id: i, raw: i%2 == 1, limit: 1 << 20, maxAttempts: 1}
		cs[i] = c
		wg.Go(func() { c.run(srv.Addr()) })
	}
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := srv.WaitForMessagesContext(ctx, 4*clients); err != nil {
		t.Fatalf("traffic did not flow: %v", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	// An upper bound on Close is a correctness check (it ends every session
	// at once), not a speed test: 5 s is far above what it needs.
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Close did not return within 5 s during load")
	}
	select {
	case <-stopped:
	case <-time.After(opTimeout):
		t.Fatalf("clients still running %v after Close", opTimeout)
	}

	saw421 := 0
	for _, c := range cs {
		for _, b := range c.bad {
			t.Errorf("client %d: %s", c.id, b)
		}
		var code int
		if te := (*textproto.Error)(nil); errors.As(c.err, &te) {
			code = te.Code
		}
		if re := (*replyErr)(nil); errors.As(c.err, &re) {
			code = re.code
		}
		switch {
		case c.err == nil:
			t.Errorf("client %d stopped without an error after %d messages", c.id, len(c.msgs))
		case code == 421:
			saw421++
		case code != 0:
			t.Errorf("client %d stopped on reply %d, want 421 or a closed connection: %v", c.id, code, c.err)
		}
	}
	unconfirmed := checkLoadRecorded(t, srv, cs, true)
	t.Logf("%d clients: %d messages recorded (%d in flight at Close), %d clients saw 421", clients, len(srv.Messages()), unconfirmed, saw421)
}
