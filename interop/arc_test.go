package interop

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/mocksmtp/mocksmtp"
)

// This file checks that mocksmtp validates the ARC chains (RFC 8617) a
// third party seals: dkimpy's arc_sign (Debian's python3-dkim), driven by
// testdata/arc_seal.py, which sends with smtplib.

// needDKIMPy returns a python3 that imports dkimpy with the authres
// module its arc_sign needs, or skips the test naming python3-dkim. The
// python3 on PATH may be another installation than Debian's (pyenv), so
// /usr/bin/python3 is tried too.
func needDKIMPy(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, name := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(name)
		if err != nil {
			tried = append(tried, name+": "+err.Error())
			continue
		}
		out, err := exec.Command(path, "-c", "import dkim, authres").CombinedOutput()
		if err == nil {
			return path
		}
		tried = append(tried, path+": "+strings.TrimSpace(lastLine(string(out))))
	}
	missing(t, "python3-dkim (dkimpy, with python3-authres) is not installed (%s): install it with %q, or run .ci/run",
		strings.Join(tried, "; "), "apt-get install python3-dkim python3-authres")
	return ""
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// TestDKIMPyARC seals a mail with dkimpy, one ARC set then a second one
// on top (two hops, each with its own domain and selector, the test's
// key), and sends it with smtplib: mocksmtp finds the chain valid, as
// dkimpy's own arc_verify does; with the body changed after the last
// seal, the newest message signature fails; with the newest seal's
// signature changed, that seal fails.
func TestDKIMPyARC(t *testing.T) {
	t.Parallel()
	python := needDKIMPy(t)
	key := newRSAKey(t)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	hops := []map[string]string{
		{"domain": "example.net", "selector": "mx", "authservId": "mx.example.net"},
		{"domain": "lists.example.org", "selector": "arc2026", "authservId": "lists.example.org"},
	}
	for _, tt := range []struct {
		name   string
		hops   int
		tamper string
		status mocksmtp.ARCStatus
		reason string // a prefix of Message.ARC.Reason
		pyCV   string // what dkimpy's arc_verify says
	}{
		{"one set", 1, "", mocksmtp.ARCPass, "", "pass"},
		{"two sets", 2, "", mocksmtp.ARCPass, "", "pass"},
		{"two sets, body changed after sealing", 2, "body", mocksmtp.ARCFail,
			"set 2: ARC-Message-Signature fail: body hash mismatch: the body changed after sealing", "fail"},
		{"two sets, the newest seal tampered", 2, "seal", mocksmtp.ARCFail,
			"set 2: ARC-Seal fail: signature mismatch", "fail"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := start(t,
				mocksmtp.WithDKIMKey("example.net", "mx", &key.PublicKey),
				mocksmtp.WithDKIMKey("lists.example.org", "arc2026", &key.PublicKey))
			spec, err := json.Marshal(map[string]any{
				"key":    string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
				"record": "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der),
				"hops":   hops[:tt.hops],
				"tamper": tt.tamper,
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := runProgram(t, spec, python, "testdata/arc_seal.py", h.srv.Host(), strconv.Itoa(h.srv.Port()))
			if err != nil {
				t.Fatalf("arc_seal.py: %v\n%s", err, out)
			}
			var py struct{ CV, Reason string }
			if err := json.Unmarshal([]byte(lastLine(out)), &py); err != nil {
				t.Fatalf("arc_seal.py printed %q: %v", out, err)
			}
			m := h.message(t)
			r := m.ARC
			if r.Status != tt.status || !strings.HasPrefix(r.Reason, tt.reason) || tt.reason == "" && r.Reason != "" {
				t.Errorf("ARC %s %q, want %s %q\n%s", r.Status, r.Reason, tt.status, tt.reason, m.Raw)
			}
			if py.CV != tt.pyCV {
				t.Errorf("dkimpy's arc_verify says %q (%s), want %q", py.CV, py.Reason, tt.pyCV)
			}
			if len(r.Sets) != tt.hops {
				t.Fatalf("%d sets, want %d: %+v", len(r.Sets), tt.hops, r.Sets)
			}
			for i, s := range r.Sets {
				hop := hops[i]
				cv := "pass"
				if i == 0 {
					cv = "none"
				}
				if s.Instance != i+1 || s.Domain != hop["domain"] || s.Selector != hop["selector"] || s.Algorithm != "rsa-sha256" || s.CV != cv ||
					!strings.HasPrefix(s.AuthResults, hop["authservId"]+";") {
					t.Errorf("set %d: %+v, want hop %v, cv=%s", i+1, s, hop, cv)
				}
			}
			newest := r.Sets[len(r.Sets)-1]
			wantSeal, wantSig := mocksmtp.DKIMPass, mocksmtp.DKIMPass
			switch tt.tamper {
			case "body":
				wantSig = mocksmtp.DKIMFail
			case "seal":
				wantSeal = mocksmtp.DKIMFail
			}
			if newest.Seal != wantSeal || newest.Signature != wantSig {
				t.Errorf("newest set: seal %s, signature %s; want %s, %s", newest.Seal, newest.Signature, wantSeal, wantSig)
			}
			var findings []string
			for _, f := range m.Findings {
				if f.Rule == mocksmtp.RuleARC {
					findings = append(findings, f.Text)
				}
			}
			if (tt.status == mocksmtp.ARCFail) != (len(findings) == 1) || len(findings) > 1 {
				t.Errorf("arc findings %q for a chain that is %s", findings, tt.status)
			}
			h.session(t)
		})
	}
}
