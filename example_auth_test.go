package mocksmtp_test

import (
	"fmt"
	"net/smtp"
	"strings"

	"github.com/xdg-go/scram"

	"github.com/mocksmtp/mocksmtp"
)

// xoauth2 is the client side of XOAUTH2 for net/smtp, as a mailer for
// Gmail or Microsoft 365 writes it: on an error challenge it sends the
// empty response, and the server then answers 535.
type xoauth2 struct{ user, token string }

func (a xoauth2) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

func (a xoauth2) Next(challenge []byte, more bool) ([]byte, error) {
	if more {
		fmt.Printf("error challenge: %s\n", challenge)
		return []byte{}, nil
	}
	return nil, nil
}

func ExampleWithOAuthToken() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithOAuthToken("mailer@example.com", "ya29.good"))
	for _, token := range []string{"ya29.expired", "ya29.good"} {
		c, err := smtp.Dial(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println(token, "→", c.Auth(xoauth2{"mailer@example.com", token}))
		c.Close()
	}
	for _, s := range srv.WaitForSessions(t, 2) {
		fmt.Println(s.Auth)
		for _, l := range s.Transcript {
			if strings.HasPrefix(l.Text, "AUTH") {
				fmt.Println(l) // the token is masked
			}
		}
	}
	// Output:
	// error challenge: {"status":"401","schemes":"bearer"}
	// ya29.expired → 535 "5.7.8 Error: authentication failed"
	// ya29.good → <nil>
	// XOAUTH2 mailer@example.com failed
	// C: AUTH XOAUTH2 ****
	// XOAUTH2 mailer@example.com ok
	// C: AUTH XOAUTH2 ****
}

// scramAuth is the client side of SCRAM for net/smtp, on
// github.com/xdg-go/scram.
type scramAuth struct {
	mechanism string
	conv      *scram.ClientConversation
}

func (a *scramAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	first, err := a.conv.Step("")
	return a.mechanism, []byte(first), err
}

func (a *scramAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	resp, err := a.conv.Step(string(challenge))
	return []byte(resp), err
}

func ExampleAuthSCRAMSHA256() {
	t := &fakeT{}
	defer t.done()

	srv := mocksmtp.Start(t, mocksmtp.WithAuth("mailer", "s3cret"),
		mocksmtp.WithAuthMechanisms(mocksmtp.AuthSCRAMSHA256, mocksmtp.AuthPlain))
	for _, password := range []string{"wrong", "s3cret"} {
		client, err := scram.SHA256.NewClient("mailer", password, "")
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.Dial(srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		err = c.Auth(&scramAuth{"SCRAM-SHA-256", client.NewConversation()})
		fmt.Println(password, "→", err)
		c.Close()
	}
	for _, s := range srv.WaitForSessions(t, 2) {
		fmt.Println(s.Auth)
	}
	// Output:
	// wrong → 535 "5.7.8 Error: authentication failed (SCRAM e=invalid-proof: challenge proof invalid)"
	// s3cret → <nil>
	// SCRAM-SHA-256 mailer failed
	// SCRAM-SHA-256 mailer ok
}

func ExampleAuthSCRAMSHA256PLUS() {
	t := &fakeT{}
	defer t.done()

	// -PLUS implies STARTTLS, and is offered after it only.
	srv := mocksmtp.Start(t, mocksmtp.WithAuth("mailer", "s3cret"),
		mocksmtp.WithAuthMechanisms(mocksmtp.AuthSCRAMSHA256PLUS, mocksmtp.AuthSCRAMSHA256))
	before, after, err := ehloAUTH(srv)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("before TLS:", before)
	fmt.Println("after TLS: ", after)

	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	cs, _ := c.TLSConnectionState()
	binding, err := scram.NewTLSExporterBinding(&cs) // RFC 9266
	if err != nil {
		t.Fatal(err)
	}
	client, err := scram.SHA256.NewClient("mailer", "s3cret", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(&scramAuth{"SCRAM-SHA-256-PLUS", client.NewConversationWithChannelBinding(binding)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	sessions := srv.WaitForSessions(t, 2)
	fmt.Println(sessions[1].Auth)
	// Output:
	// before TLS: SCRAM-SHA-256
	// after TLS:  SCRAM-SHA-256-PLUS SCRAM-SHA-256
	// SCRAM-SHA-256-PLUS mailer ok
}
