package mocksmtp

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// The test sealer: ARC sets made here, with canonicalization code of its
// own (regular expressions and strings.Fields, nothing of arc.go), so
// that a mistake in the verifier is not repeated by the sealer. The
// interop module seals with dkimpy, a third party's.

// arcSealer seals messages as one ADMD: its domain, selector and key.
type arcSealer struct {
	domain, selector string
	key              crypto.Signer
	headers          []string // h= of its message signatures; From, To, Subject, Date when nil
	canon            string   // c= of its message signatures; "relaxed/relaxed" when ""
}

var (
	wspRun      = regexp.MustCompile(`[ \t]+`)
	wspAtEOL    = regexp.MustCompile(`[ \t]+\r\n`)
	trailingEOL = regexp.MustCompile(`(\r\n)+$`)
	instanceTag = regexp.MustCompile(`(?i)(?:^|;)\s*i\s*=\s*(\d+)`)
)

// testFields splits raw into its header fields, unfolded "name: value"
// with the value as written, and the body.
func testFields(raw string) (fields [][2]string, body string) {
	head, body, _ := strings.Cut(raw, "\r\n\r\n")
	for len(head) > 0 {
		// A field ends at a CRLF not followed by a space or a tab.
		end := 0
		for {
			i := strings.Index(head[end:], "\r\n")
			if i < 0 {
				end = len(head)
				break
			}
			end += i
			if end+2 < len(head) && (head[end+2] == ' ' || head[end+2] == '\t') {
				end += 2
				continue
			}
			break
		}
		name, value, _ := strings.Cut(head[:end], ":")
		fields = append(fields, [2]string{name, value})
		head = strings.TrimPrefix(head[end:], "\r\n")
	}
	return fields, body
}

// relaxedField canonicalizes a header field, relaxed (RFC 6376 3.4.2).
func relaxedField(name, value string) string {
	// In one pass, for the fields of megabytes the work budget's tests
	// seal: unfolded, each run of blanks one space, none at either end.
	var b strings.Builder
	b.Grow(len(name) + len(value) + 3)
	b.WriteString(strings.ToLower(strings.TrimSpace(name)))
	b.WriteByte(':')
	start, blank := b.Len(), false
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\r', '\n': // unfolded
		case ' ', '\t':
			blank = true
		default:
			if blank && b.Len() > start {
				b.WriteByte(' ')
			}
			blank = false
			b.WriteByte(c)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// relaxedBody canonicalizes a body, relaxed (RFC 6376 3.4.4).
func relaxedBody(body string) string {
	body = wspAtEOL.ReplaceAllString(wspRun.ReplaceAllString(body, " "), "\r\n")
	body = trailingEOL.ReplaceAllString(body, "")
	if body == "" {
		return ""
	}
	return body + "\r\n"
}

// simpleBody canonicalizes a body, simple (RFC 6376 3.4.3).
func simpleBody(body string) string {
	return trailingEOL.ReplaceAllString(body, "") + "\r\n"
}

func (s arcSealer) sign(t testing.TB, sum []byte) string {
	t.Helper()
	var sig []byte
	var err error
	if _, ok := s.key.(ed25519.PrivateKey); ok {
		sig, err = s.key.Sign(rand.Reader, sum, crypto.Hash(0))
	} else {
		sig, err = s.key.Sign(rand.Reader, sum, crypto.SHA256)
	}
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func (s arcSealer) algorithm() string {
	if _, ok := s.key.(ed25519.PrivateKey); ok {
		return "ed25519-sha256"
	}
	return "rsa-sha256"
}

// seal returns raw with a new ARC set on top: the next instance, cv=
// as given ("" for what a validator that found the chain valid says).
func (s arcSealer) seal(t testing.TB, raw, cv string) string {
	t.Helper()
	return s.sealFull(t, raw, cv, "")
}

// sealWith seals with the given ARC-Authentication-Results text, after
// "i=N; ".
func (s arcSealer) sealWith(t testing.TB, raw, results string) string {
	t.Helper()
	return s.sealFull(t, raw, "", results)
}

func (s arcSealer) sealFull(t testing.TB, raw, cv, results string) string {
	t.Helper()
	fields, body := testFields(raw)
	sets := map[int]map[string]string{} // instance → lower-case name → "Name:value"
	n := 0
	for _, f := range fields {
		name := strings.ToLower(f[0])
		if name != "arc-seal" && name != "arc-message-signature" && name != "arc-authentication-results" {
			continue
		}
		m := instanceTag.FindStringSubmatch(f[1])
		if m == nil {
			t.Fatalf("seal: %s without i=", f[0])
		}
		var i int
		fmt.Sscan(m[1], &i)
		if sets[i] == nil {
			sets[i] = map[string]string{}
		}
		sets[i][name] = f[0] + ":" + f[1]
		n = max(n, i)
	}
	i := n + 1
	if cv == "" {
		cv = "pass"
		if i == 1 {
			cv = "none"
		}
	}
	headers := s.headers
	if headers == nil {
		headers = []string{"From", "To", "Subject", "Date"}
	}
	canon := or(s.canon, "relaxed/relaxed")
	bodyCanon := relaxedBody(body)
	if strings.HasSuffix(canon, "/simple") {
		bodyCanon = simpleBody(body)
	}
	bh := sha256.Sum256([]byte(bodyCanon))

	if results == "" {
		results = fmt.Sprintf("mx%d.%s; dkim=pass header.d=example.com", i, s.domain)
	}
	aar := fmt.Sprintf("ARC-Authentication-Results: i=%d; %s", i, results)

	// The message signature: the fields h= names, bottom up, then itself.
	ams := fmt.Sprintf("ARC-Message-Signature: i=%d; a=%s; c=%s; d=%s; s=%s;\r\n\tt=1700000000; h=%s;\r\n\tbh=%s;\r\n\tb=",
		i, s.algorithm(), canon, s.domain, s.selector, strings.Join(headers, ":"), base64.StdEncoding.EncodeToString(bh[:]))
	var hashed strings.Builder
	used := map[string]int{}
	for _, h := range headers {
		seen := 0
		for j := len(fields) - 1; j >= 0; j-- {
			if !strings.EqualFold(strings.TrimSpace(fields[j][0]), h) {
				continue
			}
			if seen == used[strings.ToLower(h)] {
				if strings.HasPrefix(canon, "simple") {
					hashed.WriteString(fields[j][0] + ":" + fields[j][1] + "\r\n")
				} else {
					hashed.WriteString(relaxedField(fields[j][0], fields[j][1]))
				}
				used[strings.ToLower(h)]++
				break
			}
			seen++
		}
	}
	name, value, _ := strings.Cut(ams, ":")
	if strings.HasPrefix(canon, "simple") {
		hashed.WriteString(ams)
	} else {
		hashed.WriteString(strings.TrimSuffix(relaxedField(name, value), "\r\n"))
	}
	sum := sha256.Sum256([]byte(hashed.String()))
	ams += s.sign(t, sum[:])

	// The seal: the sets before, then this one, its b= empty.
	as := fmt.Sprintf("ARC-Seal: i=%d; a=%s; cv=%s; d=%s; s=%s;\r\n\tt=1700000000; b=", i, s.algorithm(), cv, s.domain, s.selector)
	hashed.Reset()
	add := func(f string) {
		name, value, _ := strings.Cut(f, ":")
		hashed.WriteString(relaxedField(name, value))
	}
	for j := 1; j < i; j++ {
		for _, k := range []string{"arc-authentication-results", "arc-message-signature", "arc-seal"} {
			if f, ok := sets[j][k]; ok {
				add(f)
			}
		}
	}
	add(aar)
	add(ams)
	name, value, _ = strings.Cut(as, ":")
	hashed.WriteString(strings.TrimSuffix(relaxedField(name, value), "\r\n"))
	sum = sha256.Sum256([]byte(hashed.String()))
	as += s.sign(t, sum[:])
	return as + "\r\n" + ams + "\r\n" + aar + "\r\n" + raw
}

// fold returns l octets (at least 4) of folded lines "\r\n xxx...", each
// at most 900 octets.
func fold(l int) string {
	var b strings.Builder
	b.Grow(l)
	for l > 0 {
		n := min(l, 900)
		if l-n > 0 && l-n < 4 {
			n -= 4
		}
		b.WriteString("\r\n " + strings.Repeat("x", n-3))
		l -= n
	}
	return b.String()
}

// dropFields removes the header fields (with their continuation lines)
// whose first line contains s.
func dropFields(raw, s string) string {
	head, body, _ := strings.Cut(raw, "\r\n\r\n")
	var out []string
	drop := false
	for _, line := range strings.Split(head, "\r\n") {
		if line[0] != ' ' && line[0] != '\t' {
			drop = strings.Contains(line, s)
		}
		if !drop {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\r\n") + "\r\n\r\n" + body
}
