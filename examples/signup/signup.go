// Package signup is an example application: registering a user mails
// them a welcome message with a confirmation link.
package signup

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/smtp"
	"strings"
	"time"
)

// Config configures the application.
type Config struct {
	SMTPAddr string // host:port of the mail server
	From     string // the sender, "noreply@app.example" by default
	BaseURL  string // where confirmation links point, "https://app.example" by default
}

// App registers users.
type App struct {
	cfg    Config
	tokens map[string]string // token → email
}

// New returns an App.
func New(cfg Config) *App {
	if cfg.From == "" {
		cfg.From = "noreply@app.example"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://app.example"
	}
	return &App{cfg: cfg, tokens: map[string]string{}}
}

// Register records the user and mails them a welcome message with a
// confirmation link.
func (a *App) Register(email string) error {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	token := hex.EncodeToString(b)
	a.tokens[token] = email
	link := fmt.Sprintf("%s/confirm?token=%s", a.cfg.BaseURL, token)
	msg := strings.Join([]string{
		"From: App <" + a.cfg.From + ">",
		"To: " + email,
		"Subject: Welcome to App",
		"Date: " + time.Now().Format(time.RFC1123Z),
		"Message-ID: <" + token + "@app.example>",
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"Hello,",
		"",
		"please confirm your address: " + link,
		"",
	}, "\r\n")
	return smtp.SendMail(a.cfg.SMTPAddr, nil, a.cfg.From, []string{email}, []byte(msg))
}

// Confirm reports which user a confirmation token belongs to.
func (a *App) Confirm(token string) (email string, ok bool) {
	email, ok = a.tokens[token]
	return email, ok
}
