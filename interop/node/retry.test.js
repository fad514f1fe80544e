// retry.test.js: node --test retry.test.js, with mocksmtp running with
// -clock frozen -without-rules quit.
//
// The app below retries a temporary failure (a 4xx) after a backoff it waits
// with setTimeout. The tests make that backoff take no time with node's fake
// timers, and move mocksmtp's frozen clock by as much at the same moment, so
// that greylisting, rate limits and delays see the same fake time as the app:
// boundaries are exact, every run, and nothing sleeps.
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

// ---- the app under test ----------------------------------------------------

// sendWithRetry sends mail, and retries it after backoffs[0], backoffs[1]...
// (milliseconds) while the server answers with a temporary failure (4xx).
// It tells onRetry each retry it has planned. It resolves to the number of
// attempts it made.
async function sendWithRetry(transport, mail, { backoffs, onRetry = () => {} }) {
  for (let attempt = 1; ; attempt++) {
    try {
      await transport.sendMail(mail);
      return attempt;
    } catch (err) {
      const temporary = err.responseCode >= 400 && err.responseCode < 500;
      if (!temporary || attempt > backoffs.length) throw err;
      const ms = backoffs[attempt - 1];
      const backoff = new Promise((resolve) => setTimeout(resolve, ms));
      onRetry({ attempt, ms, code: err.responseCode, response: err.response });
      await backoff;
    }
  }
}

// ---- the tests -------------------------------------------------------------

// Where to send, and that the program's clock is the frozen one: with the
// real clock, the round trips between a move and the retry count too, and
// the boundaries below would race real milliseconds. nodemailer closes
// the connection without QUIT (RFC 5321 4.1.1.10): each of its sessions
// would have that finding, and the findings check below would fail.
let server;
test.before(async () => {
  server = await api("GET", "/api/server");
  const clock = await api("GET", "/api/clock");
  assert.strictEqual(clock.mode, "frozen", "start mocksmtp with -clock frozen (or MOCKSMTP_CLOCK=frozen)");
  const quit = (await api("GET", "/api/rules")).find((r) => r.rule === "quit");
  assert.strictEqual(quit.enabled, false, "start mocksmtp with -without-rules quit: nodemailer never sends QUIT");
});

// Each test has an inbox of its own (tests in other files may share the
// program), and its faults name the inbox's addresses (forRcpt) or its
// sender (forSender), so they touch no other test's mail. The clock is
// the program's, one for all its clients: another file that moves it must
// not run beside this one (node --test --test-concurrency=1, or a program
// each), or its moves would count in these boundaries.
let inbox, to, from;
test.beforeEach(async (t) => {
  ({ domain: inbox } = await api("POST", "/api/inboxes", {}, { name: t.name }));
  to = `bob@${inbox}`;
  from = `app@${inbox}`;
  // The fake clocks: only setTimeout and Date. node's fake Date starts
  // where mocksmtp's clock stands, so the two read the same until the end.
  const { now } = await api("GET", "/api/clock");
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: Date.parse(now) });
});

test.afterEach(async () => {
  // Were this inbox's expectations met? If not: 417, with the nearest message as a diff.
  await api("GET", "/api/expectations/check", { inbox });
  // Did the app break an RFC rule in this inbox's sessions (the refused
  // attempts too)? If so: 417, with each finding and its transcript line.
  await api("GET", "/api/findings/check", { inbox });
});

// addFaults adds the test's own faults and removes them, by the ids POST
// answers, once the test is over: the faults of the program's other tests
// keep theirs, and their state (a DELETE of every fault would take them
// away; a PUT would start them afresh).
async function addFaults(t, faults) {
  const added = await api("POST", "/api/faults", {}, faults);
  assert.strictEqual(added.length, faults.length, "POST /api/faults answers the faults it added");
  t.after(async () => {
    for (const f of added) await api("DELETE", `/api/faults/${f.id}`);
  });
}

// transport makes a nodemailer transport to mocksmtp that tells
// connected(localPort) of each connection once the server has greeted it:
// the client's port is how a test finds its session in GET /api/sessions
// (its "remoteAddr"). nodemailer's logger says the port when the TCP
// connection opens, which can be before the server has taken it (and
// listed it); the greeting comes after. nodemailer logs the greeting only
// with debug: true.
function transport({ connected = () => {} } = {}) {
  const silent = () => {};
  let localPort;
  const logger = {
    info(meta) { if (meta && meta.tnx === "network" && meta.localPort) localPort = meta.localPort; },
    debug(meta, line) { if (meta && meta.tnx === "server" && /^220 /.test(line) && localPort) connected(localPort); },
    error: silent, warn: silent, trace: silent, fatal: silent,
  };
  return nodemailer.createTransport({ host: server.smtpHost, port: server.smtpPort, ignoreTLS: true, logger, debug: true });
}

// retries makes an onRetry for the app and a next() that resolves with the
// next retry the app planned: by then its backoff timer is set.
function retries() {
  const planned = [];
  const waiting = [];
  return {
    onRetry(r) { waiting.length ? waiting.shift()(r) : planned.push(r); },
    next() { return planned.length ? Promise.resolve(planned.shift()) : new Promise((resolve) => waiting.push(resolve)); },
  };
}

// advance moves both clocks by ms: mocksmtp's first, then node's, whose
// tick runs the app's backoff timer, so its retry comes when the server's
// clock already says so. Why this is safe with nodemailer: nodemailer also
// uses setTimeout (its connection and greeting timeouts) and Date, and a
// tick of 5 minutes while it connects would time it out; but the app plans
// its retry only once sendMail has failed and its connection is closed, and
// the tests tick only then, so no timer of nodemailer's is pending but its
// socket-closing one (which only destroys a socket already ended). Its
// socketTimeout is the socket's own (socket.setTimeout): real time, which
// fake timers leave alone.
async function advance(t, ms) {
  await api("POST", "/api/clock/advance", {}, { by: `${ms}ms` });
  t.mock.timers.tick(ms);
}

test("a greylisted mail is retried, and passes at 5 minutes, not 1 ms before", async (t) => {
  await addFaults(t, [{ greylistFor: "5m", forRcpt: [`*@${inbox}`], declaredAt: "retry.test.js: greylisting" }]);
  await api("POST", "/api/expectations", { inbox }, { want: { to: [to], subject: "Your receipt" } });
  const r = retries();
  const ports = [];
  const sent = sendWithRetry(transport({ connected: (p) => ports.push(p) }),
    { from, to, subject: "Your receipt", text: "Thanks for your order.\n" },
    { backoffs: [5 * 60_000 - 1, 1], onRetry: r.onRetry });

  const first = await r.next();
  assert.deepStrictEqual([first.attempt, first.code], [1, 451], first.response);
  await advance(t, first.ms); // 4m59.999s after the first refusal: too early

  const second = await r.next();
  assert.deepStrictEqual([second.attempt, second.code], [2, 451], second.response);
  await advance(t, second.ms); // 5m to the millisecond

  assert.strictEqual(await sent, 3);
  const [msg] = await api("GET", "/api/wait", { inbox, to, subject: "Your receipt", timeout: "5s" });
  assert.strictEqual(msg.from, from);

  // The attempts' spacing on mocksmtp's clock is the app's backoffs, exactly.
  const sessions = await api("GET", "/api/sessions");
  const ours = ports.map((port) => sessions.find((s) => s.remoteAddr.endsWith(`:${port}`)));
  const starts = ours.map((s) => Date.parse(s.clockStart));
  assert.deepStrictEqual([starts[1] - starts[0], starts[2] - starts[1]], [5 * 60_000 - 1, 1]);
  assert.strictEqual(Date.now(), Date.parse((await api("GET", "/api/clock")).now));
});

test("over the rate limit, the retry passes once the interval has passed", async (t) => {
  // One mail a minute from this test's sender: the second gets 451 4.7.1.
  await addFaults(t, [{ rateLimitPer: { n: 1, interval: "1m" }, forSender: [from], declaredAt: "retry.test.js: rate limit" }]);
  await api("POST", "/api/expectations", { inbox }, { want: { to: [to], subjectContains: "Order" }, times: 2 });
  const smtp = transport();
  assert.strictEqual(await sendWithRetry(smtp, { from, to, subject: "Order 1", text: "1\n" }, { backoffs: [] }), 1);

  const r = retries();
  const sent = sendWithRetry(smtp, { from, to, subject: "Order 2", text: "2\n" },
    { backoffs: [60_000 - 1, 1], onRetry: r.onRetry });
  for (const attempt of [1, 2]) { // refused at once, and again 59.999s later
    const retry = await r.next();
    assert.deepStrictEqual([retry.attempt, retry.code], [attempt, 451], retry.response);
    await advance(t, retry.ms);
  }
  assert.strictEqual(await sent, 3); // a minute after the first was accepted
  await api("GET", "/api/wait", { inbox, subject: "Order 2", timeout: "5s" });
});

test("a server slow at DATA: the mail goes once an hour has passed on its clock", async (t) => {
  await addFaults(t, [{ at: "DATA", delay: "1h", forRcpt: [`*@${inbox}`], declaredAt: "retry.test.js: slow DATA" }]);
  await api("POST", "/api/expectations", { inbox }, { want: { to: [to], subject: "Slow" } });
  let port;
  const connected = new Promise((resolve) => { port = resolve; });
  // No backoff here: only mocksmtp's clock moves. node's does not need to,
  // and must not: nodemailer's connection is open, waiting for the reply to
  // DATA (on its socketTimeout, real time), and a tick could fire a timer of
  // its own.
  const sent = sendWithRetry(transport({ connected: port }), { from, to, subject: "Slow", text: "at last\n" }, { backoffs: [] });

  // Which session is ours: the one whose remoteAddr has our client's port.
  const localPort = await connected;
  const [session] = (await api("GET", "/api/sessions")).filter((s) => s.remoteAddr.endsWith(`:${localPort}`));
  assert.ok(session, `no session from port ${localPort}`);
  // Wait (never sleep) until the server has begun the delay, then move its
  // clock to 1 ms short of the end: the client still waits.
  let clock = await api("GET", "/api/wait/clock", { session: session.id, kind: "delay", timeout: "5s" });
  assert.deepStrictEqual(clock.waitList.filter((w) => w.session === session.id).map((w) => w.left), ["1h0m0s"]);
  clock = await api("POST", "/api/clock/advance", {}, { by: "59m59.999s" });
  assert.deepStrictEqual(clock.waitList.filter((w) => w.session === session.id).map((w) => w.left), ["1ms"]);
  // The last millisecond ends the delay: the 354 comes, and the mail with it.
  clock = await api("POST", "/api/clock/advance", {}, { by: "1ms" });
  assert.deepStrictEqual(clock.waitList.filter((w) => w.session === session.id), []);
  assert.strictEqual(await sent, 1);
  await api("GET", "/api/wait", { inbox, subject: "Slow", timeout: "5s" });
});
