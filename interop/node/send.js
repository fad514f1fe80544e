// Sends one mail with nodemailer, for mocksmtp's interop tests
// (interop/nodemailer_test.go).
//
// Usage: node send.js HOST PORT < spec.json
//
// The spec is the JSON form of interop's mailSpec: from, to (a list),
// subject, text, and optionally html and attachments (filename,
// contentType, data in base64).
'use strict';

const nodemailer = require('nodemailer');

async function main() {
  const [host, port] = process.argv.slice(2);
  if (!host || !port) {
    throw new Error('usage: node send.js HOST PORT < spec.json');
  }
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const spec = JSON.parse(Buffer.concat(chunks).toString('utf8'));

  const transport = nodemailer.createTransport({
    host,
    port: Number(port),
    secure: false,
    ignoreTLS: true,
    name: 'client.example',
    connectionTimeout: 10000,
    greetingTimeout: 10000,
    socketTimeout: 20000,
  });
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
