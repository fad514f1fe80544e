// Package mocksmtp starts an in-process SMTP server for tests.
package mocksmtp
