package main

// The MIME part tree of a message, for the web page: what the message is
// made of, as sent. It is walked again from the raw message, only for
// GET /api/messages/{id}, within the root package's limits (depth 100,
// 1000 parts).

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"

	"github.com/mocksmtp/mocksmtp"
)

// Limits of the walk, as the root package's (Postfix's nesting limit).
const (
	maxPartDepth = 100
	maxParts     = 1000
)

// partJSON is one MIME entity: the message itself, or one of its parts.
type partJSON struct {
	ContentType string     `json:"contentType"`
	Filename    string     `json:"filename,omitempty"`
	Disposition string     `json:"disposition,omitempty"`
	Encoding    string     `json:"encoding,omitempty"` // Content-Transfer-Encoding
	Charset     string     `json:"charset,omitempty"`
	Size        int        `json:"size"`                 // of its body as sent, before decoding
	Body        string     `json:"body,omitempty"`       // "text" or "html": the message's Text or HTML
	Attachment  *int       `json:"attachment,omitempty"` // its index in the message's attachments
	Parts       []partJSON `json:"parts,omitempty"`
}

// partTree walks the MIME structure of m. Each leaf is, as the root
// package decides, the text body, the HTML body or the next attachment;
// when the walk cannot tell (a broken message), leaves are not linked.
func partTree(m *mocksmtp.Message) *partJSON {
	w := &partWalk{}
	r := bufio.NewReader(bytes.NewReader(m.Raw))
	h, err := textproto.ReadHeader(r)
	if err != nil {
		return nil
	}
	p := w.entity(h, r, 0)
	if w.attachments != len(m.Attachments) || w.broken || !linksAgree(&p, m) {
		unlink(&p)
	}
	return &p
}

// linksAgree reports whether each leaf of p linked to an attachment has
// that attachment's content type and file name: a check that the walk
// made of each part what the root package's did.
func linksAgree(p *partJSON, m *mocksmtp.Message) bool {
	if i := p.Attachment; i != nil {
		if *i >= len(m.Attachments) || m.Attachments[*i].ContentType != p.ContentType || m.Attachments[*i].Filename != p.Filename {
			return false
		}
	}
	for i := range p.Parts {
		if !linksAgree(&p.Parts[i], m) {
			return false
		}
	}
	return true
}

type partWalk struct {
	parts              int
	haveText, haveHTML bool
	attachments        int
	broken             bool // a limit or a parse error: the links may be wrong
}

func (w *partWalk) entity(h textproto.Header, body io.Reader, depth int) partJSON {
	typ, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if typ == "" {
		typ = "text/plain"
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	p := partJSON{
		ContentType: typ,
		Disposition: disp,
		Encoding:    strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))),
		Charset:     params["charset"],
	}
	// As the root package's Attachment.Filename (message.go, mediaHeader,
	// leaf): encoded words decoded in each file name before the choice,
	// so that a name of nothing ("=?utf-8?q??=") is no name here either,
	// and Content-Type's name stands in for a filename of nothing.
	dec := mime.WordDecoder{CharsetReader: charset.Reader}
	decoded := func(s string) string {
		if d, err := dec.DecodeHeader(s); err == nil {
			return d
		}
		return s
	}
	p.Filename = decoded(dparams["filename"])
	if p.Filename == "" {
		p.Filename = decoded(params["name"])
	}
	if strings.HasPrefix(typ, "multipart/") && params["boundary"] != "" && depth < maxPartDepth {
		cr := &countReader{r: body}
		mr := textproto.NewMultipartReader(cr, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				w.broken = w.broken || err != io.EOF
				break
			}
			if w.parts++; w.parts > maxParts {
				w.broken = true
				break
			}
			p.Parts = append(p.Parts, w.entity(part.Header, part, depth+1))
		}
		_, _ = io.Copy(io.Discard, cr)
		p.Size = cr.n
		return p
	}
	if strings.HasPrefix(typ, "multipart/") {
		w.broken = true
	}
	n, _ := io.Copy(io.Discard, body)
	p.Size = int(n)
	// As the root package's walk decides (message.go, leaf).
	attachment := disp != "" && disp != "inline" || p.Filename != ""
	switch {
	case !attachment && typ == "text/plain" && !w.haveText:
		p.Body, w.haveText = "text", true
	case !attachment && typ == "text/html" && !w.haveHTML:
		p.Body, w.haveHTML = "html", true
	default:
		i := w.attachments
		p.Attachment = &i
		w.attachments++
	}
	return p
}

// unlink drops the links of the leaves to the message's bodies and
// attachments.
func unlink(p *partJSON) {
	p.Body, p.Attachment = "", nil
	for i := range p.Parts {
		unlink(&p.Parts[i])
	}
}

// countReader counts what is read through it.
type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}
