package mocksmtp_test

import (
	"errors"
	"fmt"
	"net/smtp"
	"net/textproto"
	"strings"

	"github.com/mocksmtp/mocksmtp"
)

// ehloAUTH dials addr, greets, and returns the mechanisms AUTH offers
// before and after STARTTLS ("" when AUTH is not offered).
func ehloAUTH(srv *mocksmtp.Server) (before, after string, err error) {
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		return "", "", err
	}
	_, before = c.Extension("AUTH")
	if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
		return "", "", err
	}
	_, after = c.Extension("AUTH")
	return before, after, c.Quit()
}

func ExampleAuthMechanism() {
	fmt.Println(mocksmtp.AuthPlain, mocksmtp.AuthLogin, mocksmtp.AuthCRAMMD5)

	// Options take them in any case; a mechanism the server does not
	// implement is an error from New.
	srv, err := mocksmtp.New(mocksmtp.WithAuth("mailer", "s3cret"), mocksmtp.WithAuthMechanisms("login"))
	if err != nil {
		panic(err)
	}
	srv.Close()
	_, err = mocksmtp.New(mocksmtp.WithAuth("mailer", "s3cret"), mocksmtp.WithAuthMechanisms("GSSAPI"))
	fmt.Println("GSSAPI refused:", err != nil)
	// Output:
	// PLAIN LOGIN CRAM-MD5
	// GSSAPI refused: true
}

func ExampleWithAuthMechanismsBeforeTLS() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithAuth("mailer", "s3cret"),
		mocksmtp.WithAuthMechanismsBeforeTLS(mocksmtp.AuthCRAMMD5))
	before, after, err := ehloAUTH(srv)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("before TLS:", before)
	fmt.Println("after TLS:", after)
	// Output:
	// before TLS: CRAM-MD5
	// after TLS: PLAIN LOGIN CRAM-MD5
}

func ExampleWithRequireTLSForAuth() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithAuth("mailer", "s3cret"), mocksmtp.WithRequireTLSForAuth())
	before, after, err := ehloAUTH(srv)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("before TLS: %q\n", before)
	fmt.Printf("after TLS: %q\n", after)
	// Output:
	// before TLS: ""
	// after TLS: "PLAIN LOGIN CRAM-MD5"
}

func ExampleWithoutSecretMasking() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithAuth("user", "secret"), mocksmtp.WithoutSecretMasking())
	// net/smtp sends PLAIN without TLS only to localhost.
	auth := smtp.PlainAuth("", "user", "secret", "127.0.0.1")
	if err := smtp.SendMail(srv.Addr(), auth, "app@example.com", []string{"bob@example.com"}, []byte("Subject: hi\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	for _, l := range srv.WaitForSessions(t, 1)[0].Transcript {
		if strings.HasPrefix(l.Text, "AUTH") {
			fmt.Println(l)
		}
	}
	// Output:
	// C: AUTH PLAIN AHVzZXIAc2VjcmV0
}

func ExampleWithMaxMessageBytes() {
	t := &fakeT{}
	defer t.done()
	srv := mocksmtp.Start(t, mocksmtp.WithMaxMessageBytes(1024))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	_, size := c.Extension("SIZE")
	fmt.Println("SIZE", size)

	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 70)+"\r\n", 30)
	err = smtp.SendMail(srv.Addr(), nil, "app@example.com", []string{"bob@example.com"}, []byte(big))
	var reply *textproto.Error
	if errors.As(err, &reply) {
		fmt.Println(reply.Code)
	}
	// Output:
	// SIZE 1024
	// 552
}

func ExampleWithOnSessionEnd() {
	ended := make(chan *mocksmtp.Session, 1)
	srv, err := mocksmtp.New(mocksmtp.WithOnSessionEnd(func(s *mocksmtp.Session) { ended <- s }))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		panic(err)
	}
	s := <-ended
	fmt.Println("session", s.ID, "ended:", s.Ended, "messages:", len(s.Messages))
	// Output:
	// session 1 ended: QUIT messages: 1
}

func ExampleServer_ExpectNoOtherMessages() {
	t := &fakeT{}
	srv := mocksmtp.Start(t)
	srv.Expect(t, mocksmtp.Want{To: []string{"bob@example.com"}})
	srv.ExpectNoOtherMessages(t) // no mail to anyone else

	if err := sendWelcome(srv.Addr(), "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	t.done()
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

// Each parallel test registers expectations on its own inbox.
func ExampleInbox_Expect() {
	srv, err := mocksmtp.New() // in TestMain, say
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	t := &fakeT{} // in a real test: t.Parallel()
	in := srv.Inbox(t)
	in.Expect(t, mocksmtp.Want{Subject: "Welcome"})
	in.ExpectNoOtherMessages(t)
	if err := sendWelcome(srv.Addr(), in.Address("bob")); err != nil {
		t.Fatal(err)
	}
	if err := sendWelcome(srv.Addr(), "someone@example.com"); err != nil { // another test's mail
		t.Fatal(err)
	}
	t.done()
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

func ExampleInbox_ExpectNoOtherMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	t := &fakeT{}
	in := srv.Inbox(t)
	in.Expect(t, mocksmtp.Want{Subject: "Welcome"}).AtLeast(0) // allowed, not required
	in.ExpectNoOtherMessages(t)
	t.done()
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}

func ExampleInbox_ExpectNoMessages() {
	srv, err := mocksmtp.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	t := &fakeT{}
	in := srv.Inbox(t)
	in.ExpectNoMessages(t)
	// The code under test sends nothing to this test's users.
	if err := sendWelcome(srv.Addr(), "someone@example.com"); err != nil {
		t.Fatal(err)
	}
	t.done()
	fmt.Println("failed:", t.Failed())
	// Output:
	// failed: false
}
