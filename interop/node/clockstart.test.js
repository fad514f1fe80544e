// clockstart.test.js: node --test clockstart.test.js, with mocksmtp running
// with -clock-start 2026-01-01T00:00:00Z -persona exchange.
//
// A suite whose fake clock starts at an instant of its choosing (node's
// mock.timers with now, Jest's setSystemTime) starts mocksmtp's frozen
// clock at the same instant (-clock-start), and mirrors each move of its
// timers onto it, a backoff of 0 too: the server's time then reads as the
// suite's Date, to the millisecond, in the clock's answers and in what
// the server says of the time (the Exchange greeting's date).
const test = require("node:test");
const assert = require("node:assert");
const net = require("node:net");

const API = "http://" + (process.env.MOCKSMTP_HTTP || "127.0.0.1:8025");
const START = "2026-01-01T00:00:00Z"; // mocksmtp -clock-start, the same

// api calls mocksmtp's HTTP API; an error fails the test with its message.
async function api(method, path, body = undefined) {
  const headers = { "Content-Type": "application/json" };
  const res = await fetch(new URL(path, API), { method, headers, body: body && JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${(await res.json()).error}`);
  return res.json();
}

// greetingDate connects to mocksmtp's SMTP address and returns the date
// of its Exchange greeting ("220 ... ready at Thu, 01 Jan 2026 00:00:00 +0000").
async function greetingDate(smtpAddr) {
  const [host, port] = [smtpAddr.slice(0, smtpAddr.lastIndexOf(":")), smtpAddr.slice(smtpAddr.lastIndexOf(":") + 1)];
  const line = await new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), host);
    let got = "";
    sock.on("data", (d) => {
      got += d;
      if (got.includes("\r\n")) {
        sock.end("QUIT\r\n");
        resolve(got.split("\r\n")[0]);
      }
    });
    sock.on("error", reject);
  });
  const m = /^220 .* ready at (.+)$/.exec(line);
  assert.ok(m, `the greeting has no date: ${line}`);
  return Date.parse(m[1]);
}

// move moves mocksmtp's clock and the fake timers by ms, in that order,
// as the README advises (a timer's retry finds the server's clock moved).
async function move(t, ms) {
  const clock = await api("POST", "/api/clock/advance", { by: `${ms}ms` });
  t.mock.timers.tick(ms);
  return clock;
}

test("the server's time is the suite's fake time, from its start on", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: Date.parse(START) });
  const { smtpAddr } = await api("GET", "/api/server");
  const clock = await api("GET", "/api/clock");
  assert.strictEqual(clock.mode, "frozen");
  assert.strictEqual(Date.parse(clock.start), Date.now(), "start mocksmtp with -clock-start " + START);
  assert.strictEqual(Date.parse(clock.now), Date.now());
  assert.strictEqual(await greetingDate(smtpAddr), Date.now());

  // A backoff of 0 is mirrored as any other.
  let fired = 0;
  setTimeout(() => fired++, 0);
  const still = await move(t, 0);
  assert.strictEqual(fired, 1);
  assert.strictEqual(still.offset, "0s");
  assert.strictEqual(Date.parse(still.now), Date.now());

  // A backoff of 5 minutes.
  setTimeout(() => fired++, 5 * 60 * 1000);
  const moved = await move(t, 5 * 60 * 1000);
  assert.strictEqual(fired, 2);
  assert.strictEqual(moved.offset, "5m0s");
  assert.strictEqual(Date.parse(moved.now), Date.now());
  assert.strictEqual(Date.parse(moved.start), Date.parse(START));
  assert.strictEqual(await greetingDate(smtpAddr), Date.now());
});
