// Package examples holds small, realistic programs that send email, each
// tested end to end with mocksmtp: a signup mailer (examples/signup), a
// sender that retries with backoff against a flaky MTA (examples/retry,
// whose real backoff of minutes is also tested in fake time),
// and a mailer that requires STARTTLS and AUTH (examples/tlsauth). Read
// their tests as the documentation of mocksmtp in use.
package examples
