// Package interop tests mocksmtp against real SMTP clients: Go libraries
// and external programs. It is a module of its own so that users of
// mocksmtp never download these clients.
package interop
