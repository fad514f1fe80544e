package smtpd_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mocksmtp/mocksmtp/smtpd"
)

// After an AUTH the engine refused, the lines that follow it but
// commands may be its exchange (credentials a client pipelined blind),
// and the engine masks them (Trace.Masked): so does the note of what a
// client that left a pause had sent, which shows none of them. Here the
// pause is at the first such line (a BadCommand), the password follows.
func TestPauseTracesNoExchangeOfARefusedAuth(t *testing.T) {
	t.Parallel()
	const user, pass = "YWxpY2U=", "c2VjcmV0" // alice, secret
	var mu sync.Mutex
	var shown []string // traces as a transcript shows them
	cfg := smtpd.Config{Trace: func(tr smtpd.Trace) {
		mu.Lock()
		defer mu.Unlock()
		text := tr.Text
		if tr.Masked != "" {
			text = tr.Masked
		}
		shown = append(shown, text)
	}}
	p := servePause(t, cfg, smtpd.BadCommand, time.Hour)
	c := dial(t, p.addr)
	c.expect("220 localhost ESMTP")
	c.send("EHLO x\r\nAUTH LOGIN\r\n" + user + "\r\n") // no SASL: AUTH refused
	<-p.paused
	c.send(pass + "\r\n")
	c.conn.Close()
	within(t, 10*time.Second, p.ended)
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(shown, "\n")
	if !strings.Contains(all, "the client left during the wait") {
		t.Fatalf("no note of what the client sent:\n%s", all)
	}
	if strings.Contains(all, user) || strings.Contains(all, pass) {
		t.Errorf("traces show what followed a refused AUTH:\n%s", all)
	}
}
