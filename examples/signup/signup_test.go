package signup_test

import (
	"net/url"
	"testing"

	"github.com/mocksmtp/mocksmtp"
	"github.com/mocksmtp/mocksmtp/examples/signup"
)

// The test a user writes first: the welcome mail arrives, exactly once,
// and its link confirms the address. WithStrict fails the test if the
// mailer breaks an RFC rule.
func TestRegisterSendsAWorkingConfirmationLink(t *testing.T) {
	srv := mocksmtp.Start(t, mocksmtp.WithStrict())
	srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}, Subject: "Welcome to App", TextContains: "please confirm"})
	srv.ExpectNoOtherMessages(t)
	app := signup.New(signup.Config{SMTPAddr: srv.Addr()})

	if err := app.Register("bob@example.com"); err != nil {
		t.Fatalf("Register: %v", err)
	}

	msg := srv.WaitFor(t, mocksmtp.Want{To: []string{"bob@example.com"}})
	links := msg.Links()
	if len(links) != 1 {
		t.Fatalf("links = %q, want one", links)
	}
	u, err := url.Parse(links[0])
	if err != nil {
		t.Fatal(err)
	}
	if email, ok := app.Confirm(u.Query().Get("token")); !ok || email != "bob@example.com" {
		t.Errorf("Confirm(%q) = %q, %v", u.Query().Get("token"), email, ok)
	}
}

// When the mail server refuses the recipient, Register says so.
func TestRegisterReportsARefusedRecipient(t *testing.T) {
	srv := mocksmtp.Start(t, mocksmtp.WithFault(mocksmtp.UnknownUser("nobody@example.com")))
	srv.ExpectNoMessages(t)
	app := signup.New(signup.Config{SMTPAddr: srv.Addr()})

	if err := app.Register("nobody@example.com"); err == nil {
		t.Fatal("Register succeeded; want the 550 from the mail server")
	}
}
