package mocksmtp_test

import (
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mocksmtp/mocksmtp"
)

// goldenOrder is an order confirmation as a template renders it, with
// what changes from run to run as parameters: the MIME boundaries, the
// Message-ID, the Date, the reset token and the code.
func goldenOrder(outer, inner, id, date, token, code, html string) string {
	return strings.ReplaceAll(`From: Shop <shop@example.com>
To: Bob <bob@example.com>
Subject: =?UTF-8?Q?Your_order_=E2=84=96_1234?=
Date: `+date+`
Message-ID: <`+id+`>
MIME-Version: 1.0
Content-Type: multipart/mixed;
 boundary="`+outer+`"

--`+outer+`
Content-Type: multipart/alternative; boundary=`+inner+`

--`+inner+`
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Bob,
your order of 12,50 =E2=82=AC is on its way.
Reset your password: https://shop.example.com/reset?token=3D`+token+`
Your code: `+code+`
--`+inner+`
Content-Type: text/html; charset=utf-8

`+html+`
--`+inner+`--
--`+outer+`
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IK
--`+outer+`
Content-Type: text/csv; charset=iso-8859-1
Content-Disposition: attachment; filename="items.csv"

item;price
Gr`+"\xfc\xdf"+`e;3,50
--`+outer+`--
`, "\n", "\r\n")
}

// goldenMasks are the masks of the order's golden file.
var goldenMasks = []mocksmtp.GoldenOption{
	mocksmtp.Mask(regexp.MustCompile(`token=\w+`), "token=<token>"),
	mocksmtp.Mask(regexp.MustCompile(`(Your code:) \d{6}`), "$1 <code>"),
}

// sendGolden sends raw, DKIM-signed, to a new server and returns it as
// recorded.
func sendGolden(t *testing.T, raw string) *mocksmtp.Message {
	t.Helper()
	srv := mocksmtp.Start(t, mocksmtp.WithDKIMKey("example.com", "mail", expDKIMKey.Public()))
	signed := expSign(t, strings.ReplaceAll(raw, "\r\n", "\n"), "example.com", "mail")
	if err := smtp.SendMail(srv.Addr(), nil, "shop@example.com", []string{"bob@example.com"}, []byte(strings.ReplaceAll(signed, "\n", "\r\n"))); err != nil {
		t.Fatal(err)
	}
	m := srv.WaitForMessages(t, 1)[0]
	if len(m.DKIM) != 1 || m.DKIM[0].Status != mocksmtp.DKIMPass {
		t.Fatalf("DKIM %v, want a pass", m.DKIM)
	}
	return m
}

// TestMessageAssertGolden pins an order confirmation in a golden file,
// sent twice with everything that changes from run to run changed.
func TestMessageAssertGolden(t *testing.T) {
	t.Parallel()
	const html = "<p>Hello <b>Bob</b>,</p>"
	first := sendGolden(t, goldenOrder("=_outer_1", "inner-a", "a1@example.com", "Tue, 24 Nov 2026 18:41:56 +0100", "8f3a9c1d", "493817", html))
	first.AssertGolden(t, "testdata/message/order.golden", *update, goldenMasks...)
	second := sendGolden(t, goldenOrder("----=_Part_77", "alt_XYZ", "b2.x@mail.example.com", "Wed, 25 Nov 2026 07:00:00 +0000", "0000ffff", "111222", html))
	if diff := cmp.Diff(first.Normalized(goldenMasks...), second.Normalized(goldenMasks...)); diff != "" {
		t.Errorf("two sends of the template normalize differently (-first +second):\n%s", diff)
	}
	second.AssertGolden(t, "testdata/message/order.golden", false, goldenMasks...)
}

func TestMessageAssertGoldenReports(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "order.golden")
	raw := func(html string) *mocksmtp.Message {
		return sendGolden(t, goldenOrder("b1", "b2", "id@example.com", "Tue, 24 Nov 2026 18:41:56 +0100", "t", "123456", html))
	}
	check := func(m *mocksmtp.Message, update bool, opts ...mocksmtp.GoldenOption) string {
		ft := &expT{name: "TestOrder"}
		ft.run(func() { m.AssertGolden(ft, path, update, opts...) })
		return ft.report()
	}
	m := raw("<p>Hello</p>\n<p>Your order is on its way.</p>")
	if got := check(m, false); !strings.Contains(got, "golden message "+path+" does not exist; run the test with -update to write it") {
		t.Errorf("missing golden file: report %q", got)
	}
	if got := check(m, true); got != "" {
		t.Errorf("update: report %q", got)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != m.Normalized() {
		t.Errorf("update wrote %q, %v; want the normalized message", b, err)
	}
	if got := check(m, false); got != "" {
		t.Errorf("same message: report %q", got)
	}
	got := check(raw("<p>Hello</p>\n<p>Your order is late.</p>"), false)
	for _, want := range []string{
		"mocksmtp: message differs from " + path + " at part 1.2 (text/html), line 26 of the file, line 5 of the part (-want +got); run the test with -update to accept it:",
		`- 	"<p>Your order is on its way.</p>",`,
		`+ 	"<p>Your order is late.</p>",`,
	} {
		if !strings.Contains(expNormalize(got), want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
	if got := check(m, false, mocksmtp.Mask(regexp.MustCompile(`Hello`), "Hi")); !strings.Contains(got, "at part 1.1 (text/plain), line 17 of the file, line 5 of the part") {
		t.Errorf("masked: report %q", got)
	}
	var nilMsg *mocksmtp.Message
	if got := check(nilMsg, false); !strings.Contains(got, "AssertGolden on a nil *Message") {
		t.Errorf("nil message: report %q", got)
	}
}

func TestMessageNormalized(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, raw, want string
	}{
		{
			name: "single part, folded subject",
			raw:  "Subject: a long\r\n subject\r\nMessage-Id: <x@y>\r\nDate: yesterday\r\n\r\nHello\r\nBye",
			want: "Subject: a long subject\nMessage-Id: <message-id>\nDate: <date>\n\n--- body: text/plain\n\nHello\nBye\n\n--- parse error: header Date: mail: header could not be parsed\n",
		},
		{
			name: "binary body",
			raw:  "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n",
			want: "Content-Type: image/png\nContent-Transfer-Encoding: base64\n\n--- body: image/png\n\n[8 bytes, sha256 4c4b6a3be1314ab8]\n",
		},
		{
			name: "broken MIME: the parse error at the end",
			raw:  "Content-Type: multipart/mixed; boundary=nowhere\r\n\r\nno parts here\r\n",
			want: "Content-Type: multipart/mixed; boundary=\"<boundary-1>\"\n\n--- body: multipart/mixed\n\n[15 bytes, sha256 9d5429fe3d362677]\n\n--- parse error: body: multipart/mixed: boundary \"nowhere\" not found\n",
		},
		{
			name: "empty",
			raw:  "",
			want: "\n--- body: text/plain\n\n",
		},
		{
			// A header field's value is one line of the form, whatever
			// its encoded words decode to: a line break or another
			// control shows as its code point, and cannot make a line of
			// the form's own ("--- part"), nor can a bidi control reorder
			// what a diff shows.
			name: "encoded words decoding to controls",
			raw:  "Subject: =?utf-8?q?Hi=0D=0A--- part 9: text/html=00?=\r\nX-Name: =?utf-8?q?invoice=E2=80=AEfdp.exe?= \x01\r\n\r\nHello\r\n",
			want: "Subject: Hi⟨U+000D⟩⟨U+000A⟩--- part 9: text/html⟨U+0000⟩\nX-Name: invoice⟨U+202E⟩fdp.exe ⟨U+0001⟩\n\n--- body: text/plain\n\nHello\n",
		},
		{
			// As a transcript line shows them: what prints as nothing,
			// or as a line break to some readers; letters of any script
			// and a backslash print as themselves.
			name: "separators, odd spaces and zero widths",
			raw:  "Subject: =?utf-8?q?a=E2=80=A8b=E2=80=8Bc=C2=A0d=EF=BB=BFe=E2=80=A9?= caf\xc3\xa9 \\n \xe6\x97\xa5\r\n\r\n",
			want: "Subject: a⟨U+2028⟩b⟨U+200B⟩c⟨U+00A0⟩d⟨U+FEFF⟩e⟨U+2029⟩ café \\n 日\n\n--- body: text/plain\n\n",
		},
		{
			name: "octets of no UTF-8 beside a control stay as sent",
			raw:  "X-Latin1: caf\xe9\x01\r\n\r\n",
			want: "X-Latin1: caf\xe9⟨U+0001⟩\n\n--- body: text/plain\n\n",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := &mocksmtp.Message{Raw: []byte(tt.raw)}
			if diff := cmp.Diff(tt.want, m.Normalized()); diff != "" {
				t.Errorf("Normalized (-want +got):\n%s", diff)
			}
		})
	}
}

// A text part's CR before a line break (quoted-printable's "=0D" at the
// end of a line, a base64 part ending in "\r") stays a CR in the decoded
// text, and a CR LF in the normalized form would read back as LF from
// the golden file (which AssertGolden reads with Windows line breaks
// made "\n", for a checkout that converts them): the golden file just
// written would differ every run after. The form writes such a CR as its
// code point, as it does in a header field.
func TestMessageGoldenRoundTripsABareCR(t *testing.T) {
	t.Parallel()
	srv := mocksmtp.Start(t)
	c := dialEHLO(t, srv.Addr())
	c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
	c.expect("250 ")
	c.expect("250 ")
	c.expect("354 ")
	c.send("Subject: cr\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nline one=0D\r\nline two=0D\r\n" +
		"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nZW5kcyBpbiBhIENS\r\nDQ==\r\n--b--\r\n.\r\n")
	c.expect("250 ")
	m := srv.WaitForMessages(t, 1)[0]
	path := filepath.Join(t.TempDir(), "cr.golden")
	check := func(update bool) string {
		ft := &expT{name: "TestCR"}
		ft.run(func() { m.AssertGolden(ft, path, update) })
		return ft.report()
	}
	if got := check(true); got != "" {
		t.Fatalf("update: report %q", got)
	}
	if got := check(false); got != "" {
		t.Errorf("the golden file just written differs:\n%s", got)
	}
	if n := m.Normalized(); !strings.Contains(n, "line one⟨U+000D⟩\nline two⟨U+000D⟩\n") || !strings.Contains(n, "ends in a CR⟨U+000D⟩\n") {
		t.Errorf("Normalized does not show the bare CRs:\n%q", n)
	}
}
