package main

// What the program is: where it listens for SMTP and how it is set up
// (GET /api/server), for a suite that started it on a free port (-listen
// 127.0.0.1:0), or that did not start it at all; and where it listens for
// SMTP and HTTP, in the file of -addr-file, for a suite that started it
// on free ports and has yet to find its API.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mocksmtp/mocksmtp"
)

// serverJSON is the answer of GET /api/server.
type serverJSON struct {
	Version  string          `json:"version"`  // as -version prints it
	SMTPAddr string          `json:"smtpAddr"` // host:port, as listening: "127.0.0.1:41234", "[::1]:41234"
	SMTPHost string          `json:"smtpHost"` // its IP address, without brackets
	SMTPPort int             `json:"smtpPort"`
	Hostname string          `json:"hostname"`          // the name in the greeting and the EHLO reply
	Persona  string          `json:"persona,omitempty"` // the server imitated (-persona): "postfix", "exchange"
	TLS      *serverTLSJSON  `json:"tls"`               // nil: no TLS
	Auth     *serverAuthJSON `json:"auth"`              // nil: no AUTH
	// Seed is the seed of the random source of faults (Server.Seed), in
	// decimal: a string, as a JavaScript number cannot hold every int64.
	// -seed with it replays a run's faults of withProbability.
	Seed string `json:"seed"`
}

// serverTLSJSON says how the server speaks TLS.
type serverTLSJSON struct {
	Mode     string `json:"mode"`            // "starttls", or "implicit" (TLS from the first byte)
	Required bool   `json:"required"`        // mail goes only over TLS: -require-tls, or -implicit-tls
	CAURL    string `json:"caUrl,omitempty"` // the test CA to trust, "" with -cert
	// ClientCertRequired: a client must present a certificate that a CA
	// of -client-ca signs (mutual TLS).
	ClientCertRequired bool `json:"clientCertRequired"`
}

// serverAuthJSON says how the server offers AUTH.
type serverAuthJSON struct {
	Required   bool `json:"required"`   // MAIL before AUTH gets 530 (-require-auth)
	RequireTLS bool `json:"requireTls"` // AUTH is offered only after TLS: -require-tls-for-auth; -require-tls, or -PLUS mechanisms only (onlyPlus), without -auth-mechanisms-before-tls
	AcceptAny  bool `json:"acceptAny"`  // any username and password (or token) is accepted: -auth-any
}

// setup is what the flags say of the server that GET /api/server tells:
// all of it but the address and the seed, which the server knows.
type setup struct {
	version  string
	hostname string
	persona  string
	tls      *serverTLSJSON
	auth     *serverAuthJSON
	// withoutRules are the rules -without-rules switched off, which GET
	// /api/rules tells (findings.go).
	withoutRules []mocksmtp.Rule
}

// newSetup reads the flags as the options they set read them (see
// securityOptions): -require-tls, -require-tls-for-auth,
// -auth-mechanisms-before-tls, -cert and a -PLUS mechanism in
// -auth-mechanisms imply STARTTLS unless -implicit-tls is given.
func newSetup(cfg *config) setup {
	s := setup{version: version(), hostname: cfg.hostname, withoutRules: cfg.withoutRules}
	if cfg.persona != 0 {
		s.persona = strings.ToLower(cfg.persona.String())
	}
	if s.hostname == "" {
		s.hostname = "localhost" // the engine's default
	}
	switch {
	case cfg.implicitTLS:
		s.tls = &serverTLSJSON{Mode: "implicit", Required: true}
	case cfg.startTLS || cfg.requireTLS || cfg.requireTLSForAuth || len(cfg.authBeforeTLS) > 0 || cfg.certFile != "" ||
		slices.ContainsFunc(cfg.authMechanisms, isPlus): // SCRAM-...-PLUS binds the TLS channel
		s.tls = &serverTLSJSON{Mode: "starttls", Required: cfg.requireTLS}
	}
	if s.tls != nil && cfg.certFile == "" {
		s.tls.CAURL = "/api/ca.pem"
	}
	if s.tls != nil {
		s.tls.ClientCertRequired = cfg.clientCA != ""
	}
	if len(cfg.auth) > 0 || len(cfg.oauthTokens) > 0 || cfg.authAny {
		s.auth = &serverAuthJSON{Required: cfg.requireAuth, AcceptAny: cfg.authAny,
			RequireTLS: cfg.requireTLSForAuth || len(cfg.authBeforeTLS) == 0 && (cfg.requireTLS || onlyPlus(cfg.authMechanisms))}
	}
	return s
}

// onlyPlus reports whether every mechanism of a -auth-mechanisms value
// binds the TLS channel (SCRAM-SHA-256-PLUS): those are offered only
// over TLS, so that without -auth-mechanisms-before-tls no AUTH is
// offered before it.
func onlyPlus(ms []mocksmtp.AuthMechanism) bool {
	return len(ms) > 0 && !slices.ContainsFunc(ms, func(m mocksmtp.AuthMechanism) bool { return !isPlus(m) })
}

// isPlus reports whether m binds the TLS channel, in any case.
func isPlus(m mocksmtp.AuthMechanism) bool {
	return strings.HasSuffix(strings.ToUpper(string(m)), "-PLUS")
}

// server answers GET /api/server.
func (a *api) server(w http.ResponseWriter, r *http.Request) {
	if _, ok := query(w, r, false); !ok {
		return
	}
	writeJSON(w, http.StatusOK, serverJSON{
		Version:  a.setup.version,
		SMTPAddr: a.srv.Addr(),
		SMTPHost: a.srv.Host(),
		SMTPPort: a.srv.Port(),
		Hostname: a.setup.hostname,
		Persona:  a.setup.persona,
		TLS:      a.setup.tls,
		Auth:     a.setup.auth,
		Seed:     strconv.FormatInt(a.srv.Seed(), 10),
	})
}

// addrFileJSON is what the file of -addr-file holds.
type addrFileJSON struct {
	SMTPAddr string `json:"smtpAddr"` // as GET /api/server says it
	HTTPAddr string `json:"httpAddr"` // "" with -http ""
}

// writeAddrFile writes the addresses to path whole or not at all: into a
// file beside it, renamed into place, so that a suite that waits for the
// file never reads a part of it. It returns what it wrote, for
// removeAddrFile.
func writeAddrFile(path string, addrs addrFileJSON) ([]byte, error) {
	b, err := json.Marshal(addrs)
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, err
	}
	return b, nil
}

// removeAddrFile removes the file of -addr-file at exit when it still
// holds what this program wrote (written), and reports whether it did.
// Another program given the same file replaces it when it starts (its
// addresses are the ones its suite waits for), and the file is then that
// program's: this one leaves it, and the other removes it at its own
// exit. Nothing tells a file of a live program from one left by a program
// that was killed, so a program never refuses a file that exists. A
// program that replaces the file between the read and the removal here
// loses its file: two programs that share one file exit one after the
// other, not at the same instant.
func removeAddrFile(path string, written []byte) (bool, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case !bytes.Equal(b, written):
		return false, nil
	}
	return true, os.Remove(path)
}
