package main

import (
	"bufio"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sessionIDs returns the IDs of sessions.
func sessionIDs(ss []sessionJSON) []int {
	out := []int{}
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

// getSessions GETs path, a list of sessions, and returns their IDs and
// X-Total-Count.
func getSessions(t *testing.T, p *proc, path string) ([]int, string) {
	t.Helper()
	var ss []sessionJSON
	h := getJSON(t, p, path, 200, &ss)
	return sessionIDs(ss), h.Get("X-Total-Count")
}

// Tests that share one program, each with its inbox, find their own
// sessions: GET /api/sessions?inbox=D lists those whose client named an
// address of D in a RCPT TO, taken or refused (the rule of the inbox's
// findings), since the inbox's last reset; remoteAddr=HOST:PORT, the
// client's own address, the session of one connection. Both combine with
// each other and with limit, which cuts the filtered list; X-Total-Count
// counts it whole. Before, both were unknown parameters (400): a suite
// could only list every session of every test.
func TestAPISessionsOfAnInboxAndOfAnAddress(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	var mine, other inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "mine"}`, 201, &mine)
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "other"}`, 201, &other)
	postJSON(t, p, "PUT", "/api/faults", `[{"at": "RCPT", "forRcpt": ["nobody@`+mine.Domain+`"], "reply": "550 5.1.1 no such user"}]`, 200, nil)

	// Session 1: no RCPT at all, in no inbox.
	conn1, expect1 := dialExpect(t, p.smtp)
	expect1("", 220)
	expect1("EHLO one.example", 250)
	// Session 2: the other test's, open.
	conn2, expect2 := dialExpect(t, p.smtp)
	expect2("", 220)
	expect2("EHLO two.example", 250)
	expect2("MAIL FROM:<app@example.com>", 250)
	expect2("RCPT TO:<bob@"+other.Domain+">", 250)
	// Session 3: mine, a RCPT refused, in upper case, still open.
	conn3, expect3 := dialExpect(t, p.smtp)
	expect3("", 220)
	expect3("EHLO three.example", 250)
	expect3("MAIL FROM:<app@example.com>", 250)
	expect3("RCPT TO:<nobody@"+strings.ToUpper(mine.Domain)+">", 550)
	// Session 4: mine and the other's, delivered and quit.
	sendMail(t, p.smtp, "app@example.com", []string{"bob@" + mine.Domain, "carol@" + other.Domain}, "Subject: x\r\n\r\nx\r\n")
	getJSON(t, p, "/api/wait/sessions?count=1&timeout=20s", 200, nil)

	for _, tt := range []struct {
		query string
		want  []int
		total string
	}{
		{"", []int{1, 2, 3, 4}, "4"},
		{"?inbox=" + mine.Domain, []int{3, 4}, "2"},
		{"?inbox=" + strings.ToUpper(mine.Domain), []int{3, 4}, "2"},
		{"?inbox=" + other.Domain, []int{2, 4}, "2"},
		{"?inbox=" + mine.Domain + "&limit=1", []int{4}, "2"},
		{"?limit=1&inbox=" + mine.Domain, []int{4}, "2"},
		{"?inbox=" + mine.Domain + "&limit=0", []int{}, "2"},
		{"?remoteAddr=" + conn1.LocalAddr().String(), []int{1}, "1"},
		{"?remoteAddr=" + url.QueryEscape(conn3.LocalAddr().String()) + "&inbox=" + mine.Domain, []int{3}, "1"},
		{"?remoteAddr=" + conn2.LocalAddr().String() + "&inbox=" + mine.Domain, []int{}, "0"},
		{"?remoteAddr=" + conn1.LocalAddr().String() + "&limit=0", []int{}, "1"},
		// The address as a client on a dual-stack socket gives it (node's
		// socket.localAddress: "::ffff:127.0.0.1").
		{"?remoteAddr=" + url.QueryEscape("[::ffff:127.0.0.1]:"+port(t, conn2)), []int{2}, "1"},
		{"?remoteAddr=" + url.QueryEscape("[::1]:"+port(t, conn2)), []int{}, "0"},
		{"?remoteAddr=127.0.0.2:" + port(t, conn2), []int{}, "0"},
	} {
		if got, total := getSessions(t, p, "/api/sessions"+tt.query); !cmp.Equal(got, tt.want) || total != tt.total {
			t.Errorf("GET /api/sessions%s: sessions %v, X-Total-Count %s; want %v, %s", tt.query, got, total, tt.want, tt.total)
		}
	}

	// A reset of the inbox forgets its sessions so far (they stay the
	// server's and the other inbox's); a session that names it after the
	// reset is its own, one open before the reset included.
	if res, b := do(t, p, "DELETE", "/api/messages?inbox="+mine.Domain, ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/messages?inbox=: %d %s", res.StatusCode, b)
	}
	if got, total := getSessions(t, p, "/api/sessions?inbox="+mine.Domain); len(got) != 0 || total != "0" {
		t.Errorf("after the inbox's reset: %v (X-Total-Count %s), want none", got, total)
	}
	if got, _ := getSessions(t, p, "/api/sessions?inbox="+other.Domain); !cmp.Equal(got, []int{2, 4}) {
		t.Errorf("the other inbox after a reset of mine: %v, want [2 4]", got)
	}
	expect2("RSET", 250)
	expect2("MAIL FROM:<app@example.com>", 250)
	expect2("RCPT TO:<bob@"+mine.Domain+">", 250)
	if got, total := getSessions(t, p, "/api/sessions?inbox="+mine.Domain); !cmp.Equal(got, []int{2}) || total != "1" {
		t.Errorf("after session 2 named the inbox: %v (X-Total-Count %s), want [2]", got, total)
	}
	conn1.Close()
	conn3.Close()
}

// port returns the port of conn's local address.
func port(t *testing.T, conn net.Conn) string {
	t.Helper()
	_, p, err := net.SplitHostPort(conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The values of the new filters, hostile or wrong: an empty, repeated or
// unknown inbox, a remoteAddr that is no HOST:PORT (no port, a bad port,
// a name, IPv6 without brackets, 1 MiB+1 octets), given twice. Each is an
// answer that names the parameter, short: 400, and 404 for an unknown
// inbox, as the findings and messages routes answer, on the list and on
// the wait alike.
func TestAPISessionsFilterHostileValues(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "mine"}`, 201, &in)
	long := strings.Repeat("1", 1<<20+1)
	cases := []struct {
		query  string
		status int
		want   string
	}{
		{"inbox=", 400, "inbox: give it once, the domain of an inbox"},
		{"inbox=" + in.Domain + "&inbox=" + in.Domain, 400, "inbox: give it once"},
		{"inbox=nobody.inbox.test", 404, `inbox="nobody.inbox.test": no such inbox`},
		{"inbox=" + long, 404, "no such inbox"},
		{"remoteAddr=", 400, `remoteAddr="": want the client's address as HOST:PORT`},
		{"remoteAddr=127.0.0.1", 400, `remoteAddr="127.0.0.1": want the client's address as HOST:PORT`},
		{"remoteAddr=127.0.0.1:", 400, `remoteAddr="127.0.0.1:"`},
		{"remoteAddr=127.0.0.1:65536", 400, `remoteAddr="127.0.0.1:65536"`},
		{"remoteAddr=127.0.0.1:131070", 400, `remoteAddr="127.0.0.1:131070"`},
		{"remoteAddr=127.0.0.1:0", 400, `remoteAddr="127.0.0.1:0": want the client's address as HOST:PORT, an IP address and a port of 1 to 65535 in plain digits`},
		{"remoteAddr=127.0.0.1:025", 400, `remoteAddr="127.0.0.1:025"`},
		{"remoteAddr=127.0.0.1:%2B25", 400, `remoteAddr="127.0.0.1:+25"`},
		{"remoteAddr=127.0.0.1:-1", 400, `remoteAddr="127.0.0.1:-1"`},
		{"remoteAddr=127.0.0.1:0x50", 400, `remoteAddr="127.0.0.1:0x50"`},
		{"remoteAddr=127.0.0.1:smtp", 400, `remoteAddr="127.0.0.1:smtp"`},
		{"remoteAddr=localhost:25", 400, `remoteAddr="localhost:25"`},
		{"remoteAddr=" + url.QueryEscape("::1:25"), 400, `remoteAddr="::1:25"`},
		{"remoteAddr=" + url.QueryEscape("[::1]"), 400, `remoteAddr="[::1]"`},
		{"remoteAddr=" + url.QueryEscape("[127.0.0.1]:25"), 400, `remoteAddr="[127.0.0.1]:25"`},
		{"remoteAddr=" + url.QueryEscape(" 127.0.0.1:25"), 400, `remoteAddr=" 127.0.0.1:25"`},
		{"remoteAddr=" + long, 400, `remoteAddr="111`},
		{"remoteAddr=127.0.0.1:25&remoteAddr=127.0.0.1:26", 400, "remoteAddr given 2 times: give it once"},
		{"remoteaddr=127.0.0.1:25", 400, `unknown query parameter "remoteaddr" (did you mean "remoteAddr"?)`},
	}
	for _, path := range []string{"/api/sessions?", "/api/wait/sessions?timeout=0&"} {
		for _, tt := range cases {
			res, b := do(t, p, "GET", path+tt.query, "")
			what := "GET " + clip(path+tt.query)
			if res.StatusCode != tt.status {
				t.Errorf("%s: %d %.300s, want %d", what, res.StatusCode, b, tt.status)
				continue
			}
			wantJSONError(t, what, b, tt.want)
			if len(b) > 600 {
				t.Errorf("%s: an error of %d octets, want it short", what, len(b))
			}
		}
	}
	// Well formed, of no session: none, and a wait that is not met.
	for _, v := range []string{"127.0.0.1:1", "127.0.0.1:65534", "127.0.0.1:65535", "[::1]:65535", "[fe80::1%25eth0]:25", "[::ffff:127.0.0.1]:1"} {
		if got, total := getSessions(t, p, "/api/sessions?remoteAddr="+v); len(got) != 0 || total != "0" {
			t.Errorf("GET /api/sessions?remoteAddr=%s: %v (X-Total-Count %s), want none", v, got, total)
		}
		var body sessionWaitTimeout
		getJSON(t, p, "/api/wait/sessions?timeout=0&remoteAddr="+v, 408, &body)
	}
}

// Two tests share one program, each with its inbox; each waits for its
// own session to end while the other's stays open. Before, the wait
// counted every session (and took no inbox): one test's open session
// held up the other's wait, or another's ended session met it.
func TestAPIWaitSessionsOfAnInbox(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet", "-log-level", "debug")
	var mine, other inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "mine"}`, 201, &mine)
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "other"}`, 201, &other)

	// The other test's session, open, named its inbox.
	_, expectOther := dialExpect(t, p.smtp)
	expectOther("", 220)
	expectOther("EHLO other.example", 250)
	expectOther("MAIL FROM:<app@example.com>", 250)
	expectOther("RCPT TO:<bob@"+other.Domain+">", 250)

	// The wait begins before my session: it joins the inbox at its
	// RCPT TO, after the wait began, and counts once it ends.
	wait := waitSessionsAsync(p, "/api/wait/sessions?count=1&timeout=20s&inbox="+mine.Domain)
	p.stderr.waitFor(t, sessionWaitLogged)
	conn, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO mine.example", 250)
	expect("MAIL FROM:<app@example.com>", 250)
	expect("RCPT TO:<bob@"+mine.Domain+">", 250)
	select {
	case w := <-wait:
		t.Fatalf("the wait answered while my session was open: %d %+v %v", w.status, w.sessions, w.err)
	default:
	}
	// Its 408 shows my open session, not the other test's.
	var body sessionWaitTimeout
	getJSON(t, p, "/api/wait/sessions?timeout=0&inbox="+mine.Domain, 408, &body)
	for _, want := range []string{
		"waited 0s for 1 ended session in the inbox " + mine.Domain + ", got 0; sessions lists the last 1 of the 1 kept in the inbox " + mine.Domain + "; 1 still open:\nsession 2 ",
		"C: RCPT TO:<bob@" + mine.Domain + ">",
	} {
		if !strings.Contains(body.Error, want) {
			t.Errorf("the 408's error lacks %q:\n%s", want, body.Error)
		}
	}
	if strings.Contains(body.Error, "other.example") || !cmp.Equal(sessionIDs(body.Sessions), []int{2}) {
		t.Errorf("the 408 shows another test's session: %+v\n%s", sessionIDs(body.Sessions), body.Error)
	}
	expect("QUIT", 221)
	conn.Close()
	w := <-wait
	if w.err != nil || w.status != 200 || !cmp.Equal(sessionIDs(w.sessions), []int{2}) || w.sessions[0].Live {
		t.Fatalf("the wait of my inbox: %d %+v %v, want my session 2, ended", w.status, w.sessions, w.err)
	}
	// The other inbox's wait is not met by my session.
	getJSON(t, p, "/api/wait/sessions?timeout=0&inbox="+other.Domain, 408, &body)
	if !strings.Contains(body.Error, "got 0;") || !strings.Contains(body.Error, "other.example") {
		t.Errorf("the other inbox's 408: %s", body.Error)
	}
}

// Tests that share one program wait each for its own client's session by
// the client's own address, the local address of its socket: a session
// that starts after the wait began counts, another client's open session
// does not hold it up. With inbox=, the session counts once it has named
// the inbox, also after the wait began.
func TestAPIWaitSessionsFromAnAddress(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet", "-log-level", "debug")
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "mine"}`, 201, &in)
	openSession(t, p.smtp) // another client's, open

	// A wait for an address whose session starts after the wait began:
	// the client binds its port first.
	local := freePort(t)
	wait := waitSessionsAsync(p, "/api/wait/sessions?timeout=20s&remoteAddr="+local.String())
	p.stderr.waitFor(t, sessionWaitLogged)
	d := net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", p.smtp)
	if err != nil {
		t.Skipf("dialing from %v, a port free a moment before: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if l, err := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("the greeting: %q %v", l, err) // the session has started
	}
	select {
	case w := <-wait:
		t.Fatalf("the wait answered while the session was open: %d %+v %v", w.status, w.sessions, w.err)
	default:
	}
	c.Close()
	w := <-wait
	if w.err != nil || w.status != 200 || !cmp.Equal(sessionIDs(w.sessions), []int{2}) || w.sessions[0].Live ||
		w.sessions[0].RemoteAddr != local.String() {
		t.Fatalf("the wait for %v: %d %+v %v, want session 2, ended", local, w.status, w.sessions, w.err)
	}

	// By address and inbox: the session names the inbox after the wait
	// began.
	conn, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO mine.example", 250)
	q := "&remoteAddr=" + conn.LocalAddr().String() + "&inbox=" + in.Domain
	var body sessionWaitTimeout
	getJSON(t, p, "/api/wait/sessions?timeout=0"+q, 408, &body)
	if !strings.HasPrefix(body.Error, "waited 0s for 1 ended session from "+conn.LocalAddr().String()+" in the inbox "+in.Domain+", got 0; ") {
		t.Errorf("the 408 before the RCPT: %s", body.Error)
	}
	wait = waitSessionsAsync(p, "/api/wait/sessions?timeout=20s"+q)
	p.stderr.waitFor(t, sessionWaitLogged)
	expect("MAIL FROM:<app@example.com>", 250)
	expect("RCPT TO:<bob@"+in.Domain+">", 250)
	getJSON(t, p, "/api/wait/sessions?timeout=0"+q, 408, &body)
	if !strings.Contains(body.Error, "; 1 still open:\nsession 3 ") || strings.Contains(body.Error, "session 1 ") {
		t.Errorf("the 408 after the RCPT shows not only session 3, open: %s", body.Error)
	}
	expect("QUIT", 221)
	conn.Close()
	w = <-wait
	if w.err != nil || w.status != 200 || !cmp.Equal(sessionIDs(w.sessions), []int{3}) || w.sessions[0].Live {
		t.Fatalf("the wait by address and inbox: %d %+v %v, want session 3, ended", w.status, w.sessions, w.err)
	}
	// Of the address and the inbox: its ended session never named the
	// inbox, and never counts.
	getJSON(t, p, "/api/wait/sessions?timeout=0&remoteAddr="+local.String()+"&inbox="+in.Domain, 408, &body)
	if !strings.HasPrefix(body.Error, "waited 0s for 1 ended session from "+local.String()+" in the inbox "+in.Domain+", got 0; ") {
		t.Errorf("the 408 of an ended session that never named the inbox: %s", body.Error)
	}
	// count=2 of one address: one ended, none open.
	getJSON(t, p, "/api/wait/sessions?timeout=0&count=2&remoteAddr="+local.String(), 408, &body)
	if !strings.HasPrefix(body.Error, "waited 0s for 2 ended sessions from "+local.String()+", got 1; sessions lists the last 1 of the 1 kept from "+local.String()) ||
		strings.Contains(body.Error, "still open") {
		t.Errorf("the 408 of count=2: %s", body.Error)
	}
}

// freePort returns a loopback address whose port was free a moment ago.
func freePort(t *testing.T) *net.TCPAddr {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().(*net.TCPAddr)
	l.Close()
	return &net.TCPAddr{IP: a.IP, Port: a.Port}
}

// A test's client refused before its RCPT TO (a rateLimitPer at MAIL)
// has a session in no inbox: a wait by inbox for every session of the
// test never counts it. Its 408 says why and what to wait with instead:
// the client's address. Before, it said only "got 1", and a Python suite
// waited out its timeout without a clue.
func TestAPIWaitSessionsOfAnInboxHintsAtSessionsRefusedBeforeRcpt(t *testing.T) {
	t.Parallel()
	p := start(t, nil, "-quiet")
	var in inboxJSON
	postJSON(t, p, "POST", "/api/inboxes", `{"name": "mine"}`, 201, &in)
	postJSON(t, p, "POST", "/api/faults", `[{"rateLimitPer": {"n": 1, "interval": "10m"}, "forSender": ["*@`+in.Domain+`"]}]`, 200, nil)
	sendMail(t, p.smtp, "app@"+in.Domain, []string{"bob@" + in.Domain}, "Subject: x\r\n\r\nx\r\n")
	// The client read the 221; the server ends the session after it.
	getJSON(t, p, "/api/wait/sessions?timeout=20s&count=1&inbox="+in.Domain, 200, nil)
	conn, expect := dialExpect(t, p.smtp)
	expect("", 220)
	expect("EHLO app.example", 250)
	expect("MAIL FROM:<app@"+in.Domain+">", 451)
	expect("QUIT", 221)
	conn.Close()
	getJSON(t, p, "/api/wait/sessions?timeout=20s&remoteAddr="+conn.LocalAddr().String(), 200, nil)

	var body sessionWaitTimeout
	getJSON(t, p, "/api/wait/sessions?timeout=0&count=2&inbox="+in.Domain, 408, &body)
	for _, want := range []string{
		"waited 0s for 2 ended sessions in the inbox " + in.Domain + ", got 1; ",
		"a session joins the inbox at its first RCPT TO naming it: one refused before (at the greeting, HELO or MAIL) is in no inbox; wait for it with remoteAddr=, the client's own address",
	} {
		if !strings.Contains(body.Error, want) {
			t.Errorf("the 408's error lacks %q:\n%s", want, body.Error)
		}
	}
	// A wait by address needs no such hint.
	getJSON(t, p, "/api/wait/sessions?timeout=0&count=2&remoteAddr="+conn.LocalAddr().String(), 408, &body)
	if strings.Contains(body.Error, "joins the inbox") {
		t.Errorf("the 408 of a wait by address: %s", body.Error)
	}
}
