package main

import (
	"errors"
	"net/smtp"
	"net/textproto"
	"testing"
)

// A fault for every address of a domain ("*@x.test", as a suite scopes
// its faults to its inbox) fires for an address whose local part has a
// "/" too, which RFC 5322 allows (atext): a pattern is compared as
// path.Match compares it, but an address is no path, and "*" does not
// stop at a "/". So for senders, and for "?" and "*" anywhere.
func TestFaultPatternsMatchAddressesWithASlash(t *testing.T) {
	t.Parallel()
	p := start(t, nil)
	putFaults(t, p, `[{"at": "MAIL", "forSender": ["*@sender.test"], "reply": "550 5.7.1 sender"},
		{"at": "RCPT", "forRcpt": ["*@x.test"], "reply": "550 5.1.1 domain"},
		{"at": "RCPT", "forRcpt": ["dept?sales@y.test"], "reply": "550 5.1.1 one"}]`)
	for _, tc := range []struct {
		name, from, to string
		wantCode       int // 0: accepted
		wantText       string
	}{
		{"recipient with a slash", "app@a.test", "orders/2026@x.test", 550, "5.1.1 domain"},
		{"recipient without", "app@a.test", "orders@x.test", 550, "5.1.1 domain"},
		{"? for a slash", "app@a.test", "dept/sales@y.test", 550, "5.1.1 one"},
		{"sender with a slash", "billing/eu@sender.test", "bob@a.test", 550, "5.7.1 sender"},
		{"another domain", "billing/eu@a.test", "orders/2026@z.test", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := smtp.Dial(p.smtp)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Mail(tc.from)
			if err == nil {
				err = c.Rcpt(tc.to)
			}
			var got *textproto.Error
			switch {
			case tc.wantCode == 0 && err != nil:
				t.Errorf("MAIL FROM:<%s> RCPT TO:<%s>: %v, want both accepted", tc.from, tc.to, err)
			case tc.wantCode != 0 && (!errors.As(err, &got) || got.Code != tc.wantCode || got.Msg != tc.wantText):
				t.Errorf("MAIL FROM:<%s> RCPT TO:<%s>: %v, want %d %s (the fault)", tc.from, tc.to, err, tc.wantCode, tc.wantText)
			}
		})
	}
}
