// signup.test.js: node --test signup.test.js, with mocksmtp running.
const test = require("node:test");
const assert = require("node:assert");
const nodemailer = require("nodemailer");

const API = "http://" + (process.env.MOCKSMTP_HTTP || "127.0.0.1:8025");

// api calls mocksmtp's HTTP API; an error fails the test with its message.
async function api(method, path, params = {}, body = undefined) {
  const url = new URL(path, API);
  for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v);
  const headers = { "Content-Type": "application/json" };
  const res = await fetch(url, { method, headers, body: body && JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${(await res.json()).error}`);
  return res.status === 204 ? null : res.json();
}

// Where to send: mocksmtp says (on a free port with -listen 127.0.0.1:0, say).
let server;
test.before(async () => { server = await api("GET", "/api/server"); });

async function sendWelcome(to) { // the code under test
  const smtp = nodemailer.createTransport({ host: server.smtpHost, port: server.smtpPort, ignoreTLS: true });
  await smtp.sendMail({
    from: "app@example.com", to, subject: "Welcome, Bob!",
    text: "Your code: 123456\nOr sign in: https://app.example/login?t=abc\n",
  });
}

let inbox, to;
test.beforeEach(async (t) => {
  // An inbox of this test's own: tests in parallel never see each other's mail.
  ({ domain: inbox } = await api("POST", "/api/inboxes", {}, { name: t.name }));
  to = `bob@${inbox}`;
});

test("the welcome mail has a code and a link", async () => {
  await sendWelcome(to);
  // Waits (never sleep) for the first message like this one: 408 after 5 s.
  const [msg] = await api("GET", "/api/wait", { inbox, to, subjectContains: "Welcome", timeout: "5s" });
  assert.strictEqual(msg.from, "app@example.com");
  const found = await api("GET", `/api/messages/${msg.id}/find`, { re: String.raw`code: (\d{6})` });
  assert.strictEqual(found.match, "123456");
  const { links } = await api("GET", `/api/messages/${msg.id}/links`);
  assert.ok(links.includes("https://app.example/login?t=abc"), links);
});
