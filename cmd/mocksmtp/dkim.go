package main

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mocksmtp/mocksmtp"
)

// dkimKey is one -dkim-key domain:selector:file.pem.
type dkimKey struct {
	domain, selector string
	key              crypto.PublicKey
}

// parseDKIMKey reads -dkim-key's value: the domain, the selector and a
// PEM file holding the public key (PUBLIC KEY, RSA PUBLIC KEY) or the
// private key (PRIVATE KEY, RSA PRIVATE KEY) of the signer.
func parseDKIMKey(v string) (dkimKey, error) {
	domain, rest, ok1 := strings.Cut(v, ":")
	selector, file, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || domain == "" || selector == "" || file == "" {
		return dkimKey{}, errors.New("want domain:selector:file.pem")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return dkimKey{}, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return dkimKey{}, fmt.Errorf("%s: no PEM block", file)
	}
	var key any
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return dkimKey{}, fmt.Errorf("%s: a PEM %q block: want PUBLIC KEY, RSA PUBLIC KEY, PRIVATE KEY or RSA PRIVATE KEY", file, block.Type)
	}
	if err != nil {
		return dkimKey{}, fmt.Errorf("%s: %w", file, err)
	}
	return dkimKey{domain, selector, key}, nil
}

// dkimJSON is one DKIM signature's verification, as the API shows it.
type dkimJSON struct {
	Status     string   `json:"status"` // pass, fail, permerror, temperror
	Reason     string   `json:"reason,omitempty"`
	Domain     string   `json:"domain"`
	Selector   string   `json:"selector"`
	Identifier string   `json:"identifier,omitempty"`
	Algorithm  string   `json:"algorithm,omitempty"`
	HeaderKeys []string `json:"headerKeys,omitempty"`
	// Summary is the result as an Authentication-Results method:
	// "dkim=pass header.d=example.com header.s=mail header.a=rsa-sha256".
	Summary string `json:"summary"`
}

func dkimResultsJSON(rs []mocksmtp.DKIMResult) []dkimJSON {
	out := []dkimJSON{}
	for _, r := range rs {
		out = append(out, dkimJSON{Status: string(r.Status), Reason: r.Reason, Domain: r.Domain, Selector: r.Selector,
			Identifier: r.Identifier, Algorithm: r.Algorithm, HeaderKeys: r.HeaderKeys, Summary: r.String()})
	}
	return out
}

// arcJSON is a message's ARC chain validation, as the API shows it.
type arcJSON struct {
	Status   string `json:"status"` // none, pass, fail
	Reason   string `json:"reason,omitempty"`
	Instance int    `json:"instance,omitempty"` // the set it failed at
	// Sets are the ARC sets found, by instance.
	Sets []arcSetJSON `json:"sets"`
	// Summary is the result as an Authentication-Results method:
	// "arc=pass", "arc=fail (set 2: ARC-Seal fail: ...)".
	Summary string `json:"summary"`
}

// arcSetJSON is one ARC set.
type arcSetJSON struct {
	Instance        int    `json:"instance"`
	Domain          string `json:"domain"`
	Selector        string `json:"selector"`
	Algorithm       string `json:"algorithm,omitempty"`
	CV              string `json:"cv"`
	AuthResults     string `json:"authResults,omitempty"`
	Seal            string `json:"seal,omitempty"` // pass, fail, permerror, temperror; absent when not verified
	SealReason      string `json:"sealReason,omitempty"`
	Signature       string `json:"signature,omitempty"` // idem
	SignatureReason string `json:"signatureReason,omitempty"`
}

func arcResultJSON(r mocksmtp.ARCResult) arcJSON {
	out := arcJSON{Status: string(r.Status), Reason: r.Reason, Instance: r.Instance, Sets: []arcSetJSON{}, Summary: r.String()}
	if out.Status == "" {
		out.Status = string(mocksmtp.ARCNone)
	}
	for _, s := range r.Sets {
		out.Sets = append(out.Sets, arcSetJSON{Instance: s.Instance, Domain: s.Domain, Selector: s.Selector, Algorithm: s.Algorithm,
			CV: s.CV, AuthResults: s.AuthResults, Seal: string(s.Seal), SealReason: s.SealReason,
			Signature: string(s.Signature), SignatureReason: s.SignatureReason})
	}
	return out
}
