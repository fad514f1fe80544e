// Sends one mail with nodemailer, for mocksmtp's interop tests
// (interop/nodemailer_test.go).
//
// Usage: node send.js HOST PORT [--starttls | --secure] [--ca CA.pem]
//                      [--cert CERT.pem --key KEY.pem]
//                      [--user USER (--pass PASSWORD [--auth-method M] | --access-token T)]
//                      [--dkim DOMAIN:SELECTOR:KEY.pem] [--timeout MS] < spec.json
//
// The spec is the JSON form of interop's mailSpec: from, to (a list),
// subject, text, and optionally html and attachments (filename,
// contentType, data in base64).
//
// --starttls requires STARTTLS (requireTLS), --secure speaks TLS from the
// first byte (SMTPS); both verify the server's certificate and host name
// against the certificate authorities in --ca, and present the client
// certificate in --cert with its key in --key when given (mutual TLS:
// tls.cert and tls.key). --user logs in, with
// --auth-method (PLAIN, LOGIN, CRAM-MD5) or nodemailer's own choice; with
// --access-token, it logs in with XOAUTH2 (auth type OAuth2, with no means
// to renew the token). --dkim signs the message with nodemailer's DKIM
// signer, with the private key in KEY.pem. --timeout sets nodemailer's
// greetingTimeout and socketTimeout (10 s and 20 s by default).
'use strict';

const fs = require('fs');
const nodemailer = require('nodemailer');

// parseArgs returns the positional arguments and the options.
function parseArgs(argv) {
  const positional = [];
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--starttls' || a === '--secure') {
      opts[a.slice(2)] = true;
    } else if (['--ca', '--cert', '--key', '--user', '--pass', '--auth-method', '--access-token', '--dkim', '--timeout'].includes(a)) {
      if (i + 1 >= argv.length) {
        throw new Error(a + ' needs a value');
      }
      opts[a.slice(2)] = argv[++i];
    } else if (a.startsWith('--')) {
      throw new Error('unknown option ' + a);
    } else {
      positional.push(a);
    }
  }
  return { positional, opts };
}

async function main() {
  const { positional, opts } = parseArgs(process.argv.slice(2));
  const [host, port] = positional;
  if (!host || !port || positional.length > 2) {
    throw new Error('usage: node send.js HOST PORT [--starttls | --secure] [--ca CA.pem] [--cert CERT.pem --key KEY.pem] [--user USER (--pass PASSWORD [--auth-method M] | --access-token T)] [--dkim DOMAIN:SELECTOR:KEY.pem] [--timeout MS] < spec.json');
  }
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const spec = JSON.parse(Buffer.concat(chunks).toString('utf8'));

  const config = {
    host,
    port: Number(port),
    secure: Boolean(opts.secure),
    ignoreTLS: !opts.starttls && !opts.secure,
    requireTLS: Boolean(opts.starttls),
    name: 'client.example',
    connectionTimeout: 10000,
    greetingTimeout: 10000,
    socketTimeout: 20000,
  };
  if (opts.timeout) {
    config.greetingTimeout = config.socketTimeout = Number(opts.timeout);
  }
  if (opts.ca) {
    config.tls = { ca: [fs.readFileSync(opts.ca)], rejectUnauthorized: true };
  }
  if (opts.cert) {
    config.tls = { ...config.tls, cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) };
  }
  if (opts['access-token']) {
    config.auth = { type: 'OAuth2', user: opts.user, accessToken: opts['access-token'] };
  } else if (opts.user) {
    config.auth = { user: opts.user, pass: opts.pass };
    if (opts['auth-method']) {
      config.authMethod = opts['auth-method'];
    }
  }
  if (opts.dkim) {
    const [domainName, keySelector, keyFile] = opts.dkim.split(':');
    config.dkim = { domainName, keySelector, privateKey: fs.readFileSync(keyFile, 'utf8') };
  }
  const transport = nodemailer.createTransport(config);
  const info = await transport.sendMail({
    from: { name: 'Alice', address: spec.from },
    to: spec.to,
    subject: spec.subject,
    text: spec.text,
    html: spec.html || undefined,
    attachments: (spec.attachments || []).map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: Buffer.from(a.data, 'base64'),
    })),
  });
  if (info.rejected.length > 0) {
    throw new Error('rejected recipients: ' + info.rejected.join(', '));
  }
  transport.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
