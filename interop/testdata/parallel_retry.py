"""A Python app's retry tests against one shared mocksmtp program, its test
cases run in parallel threads as a shared CI fixture runs them, for
mocksmtp's interop tests (interop/pythonsuite_test.go).

Usage: python3 parallel_retry.py API_HOST:PORT CLOCK_START
with mocksmtp started as -clock-start CLOCK_START (2026-01-01T00:00:00Z).

The app under test (Mailer) sends with smtplib and retries a temporary
failure (4xx, or a connection the server closed) after a backoff, through
a clock it is given (the suite's fake clock, as freezegun's would be). The
suite's fake clock starts where the program's does (-clock-start) and
mirrors each of its moves onto POST /api/clock/advance, a backoff of 0
too, so that the server's greylisting windows, rate limit intervals,
delays and idle times pass as the app's time does. There is one clock for
every test: the tests that move it do so one at a time (CLOCK_TURN), while
the others (a permanent failure, greylisting without a window) go on beside
them; each test runs twice.

Each test has its own inbox (POST /api/inboxes), its own faults (POST
/api/faults, each removed by id in tearDown, DELETE /api/faults/{id}), its
own expectations and findings (?inbox=), and finds its own sessions by
its client's socket address (GET /api/sessions?remoteAddr=) and by inbox.
"""

import datetime
import email.utils
import json
import queue
import re
import smtplib
import sys
import threading
import unittest
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage

API = "http://" + sys.argv[1]
_CLOCK_START_ARG = sys.argv[2]
del sys.argv[1:3]


class APIError(AssertionError):
    def __init__(self, method, path, code, error):
        super().__init__(f"{method} {path}: {code} {error}")
        self.code, self.error = code, error


def api(method, path, body=None, **params):
    """Calls mocksmtp's HTTP API; an error status raises APIError with its message."""
    url = API + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return None if res.status == 204 else json.load(res)
    except urllib.error.HTTPError as e:
        raise APIError(method, path, e.code, json.load(e)["error"]) from None


def parse_time(s):
    """An RFC 3339 time as the program writes it (Go's: "Z", up to 9
    digits of a second), for Pythons before 3.11 too."""
    m = re.fullmatch(r"([^.]*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", s)
    if not m:
        raise ValueError(f"not an RFC 3339 time: {s!r}")
    frac = "." + (m.group(2) + "000000")[:6] if m.group(2) else ""
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.datetime.fromisoformat(m.group(1) + frac + zone)


def go_duration(seconds):
    """A Go duration string for a whole number of seconds: 0 is "0s"."""
    return "%ds" % seconds


CLOCK_START = parse_time(_CLOCK_START_ARG)


# --- the app under test -------------------------------------------------------


class Gave(Exception):
    """The mail could not be sent: the attempts made, each (time, code)."""

    def __init__(self, attempts):
        super().__init__(f"gave up after {attempts}")
        self.attempts = attempts


class Mailer:
    """Sends mail with smtplib, retrying a temporary failure after each
    backoff (seconds) in turn, waiting them out with clock.sleep."""

    def __init__(self, host, port, clock, backoffs=(0, 60, 300), connect=smtplib.SMTP):
        self.host, self.port, self.clock = host, port, clock
        self.backoffs, self.connect = tuple(backoffs), connect
        self.attempts = []  # (clock time, the code that ended it)

    def _code(self, e):
        if isinstance(e, smtplib.SMTPRecipientsRefused):
            return min(code for code, _ in e.recipients.values())
        if isinstance(e, smtplib.SMTPResponseException):
            return e.smtp_code
        return 421  # the server closed the connection: try again later

    def stamp(self, msg):
        """Dates msg on the app's clock and gives it a Message-ID (RFC 5322 3.6)."""
        del msg["Date"], msg["Message-ID"]
        msg["Date"] = email.utils.format_datetime(self.clock.now())
        msg["Message-ID"] = email.utils.make_msgid(domain="app.example")

    def send(self, msg):
        self.stamp(msg)
        for backoff in (None,) + self.backoffs:
            if backoff is not None:
                self.clock.sleep(backoff)
            at = self.clock.now()
            try:
                with self.connect(self.host, self.port, local_hostname="app.example", timeout=30) as smtp:
                    refused = smtp.send_message(msg)
                self.attempts.append((at, 250))
                return refused
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused, smtplib.SMTPServerDisconnected) as e:
                code = self._code(e)
                self.attempts.append((at, code))
                if code // 100 != 4:
                    raise
        raise Gave(self.attempts)

    def send_digest(self, msgs, pause):
        """Sends msgs over one connection, pause seconds apart (a digest
        job that keeps its connection); a connection the server closed
        meanwhile is opened again once."""
        smtp = self.connect(self.host, self.port, local_hostname="app.example", timeout=30)
        try:
            for i, msg in enumerate(msgs):
                if i:
                    self.clock.sleep(pause)
                self.stamp(msg)
                try:
                    smtp.send_message(msg)
                except (smtplib.SMTPServerDisconnected, smtplib.SMTPSenderRefused) as e:
                    if isinstance(e, smtplib.SMTPSenderRefused) and e.smtp_code != 421:
                        raise
                    self.attempts.append((self.clock.now(), self._code(e)))
                    smtp.close()
                    smtp = self.connect(self.host, self.port, local_hostname="app.example", timeout=30)
                    smtp.send_message(msg)
                self.attempts.append((self.clock.now(), 250))
        finally:
            try:
                smtp.quit()
            except smtplib.SMTPServerDisconnected:
                pass


# --- the suite's fixtures -------------------------------------------------------


class FakeClock:
    """The suite's fake clock (freezegun's, say): it stands still but for
    its moves, each mirrored onto the program's clock."""

    def __init__(self, start):
        self._now = start
        self._lock = threading.Lock()

    def now(self):
        with self._lock:
            return self._now

    def sleep(self, seconds):
        self.advance(seconds)

    def advance(self, seconds):
        with self._lock:
            self._now += datetime.timedelta(seconds=seconds)
            got = api("POST", "/api/clock/advance", {"by": go_duration(seconds)})
            if parse_time(got["now"]) != self._now:
                raise AssertionError(f"the program's clock reads {got['now']}, the suite's {self._now.isoformat()}")


CLOCK = FakeClock(CLOCK_START)
CLOCK_TURN = threading.Lock()  # one test at a time moves the clock
SERVER = api("GET", "/api/server")
_clock = api("GET", "/api/clock")
if _clock["mode"] != "frozen" or parse_time(_clock.get("start", "0001-01-01T00:00:00Z")) != CLOCK_START or _clock["offset"] != "0s":
    sys.exit(f"mocksmtp's clock is {_clock}: start it with -clock-start {CLOCK_START.isoformat()}")


def remote_addr(smtp):
    """The client's address as mocksmtp records it: its socket's own."""
    host, port = smtp.sock.getsockname()[:2]
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


class MailTest(unittest.TestCase):
    faults = []  # this test's faults; "{inbox}" stands for its domain

    def setUp(self):
        inbox = api("POST", "/api/inboxes", {"name": self.id()})
        self.inbox, self.to = inbox["domain"], "bob@" + inbox["domain"]
        spec = json.loads(json.dumps(self.faults).replace("{inbox}", self.inbox))
        for fault in spec:  # transcript notes name the test, not "POST /api/faults:1"
            fault["declaredAt"] = self.id()
        added = api("POST", "/api/faults", spec) if spec else []
        for fault in added:
            self.addCleanup(api, "DELETE", f"/api/faults/{fault['id']}")
        self.fault_ids = [f["id"] for f in added]
        self.addrs = queue.Queue()  # the address of each connection the app opened, to take
        self.all_addrs = []  # and all of them, in order

    def tearDown(self):
        api("GET", "/api/expectations/check", inbox=self.inbox)

    def connect(self, *args, **kwargs):
        smtp = smtplib.SMTP(*args, **kwargs)
        self.all_addrs.append(remote_addr(smtp))
        self.addrs.put(remote_addr(smtp))
        return smtp

    def mailer(self, backoffs=(0, 60, 300)):
        return Mailer(SERVER["smtpHost"], SERVER["smtpPort"], CLOCK, backoffs, connect=self.connect)

    def message(self, subject, to=None, sender="app@example.com"):
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = sender, to or self.to, subject
        msg.set_content("Hello Bob.\n")
        return msg

    def expect(self, want, **more):
        api("POST", "/api/expectations", dict({"want": want}, **more), inbox=self.inbox)

    def run_app(self, fn, *args):
        """Runs the app in a thread, as it runs in production; join() waits for it."""
        box = {}

        def run():
            try:
                box["result"] = fn(*args)
            except BaseException as e:  # noqa: BLE001 (reported in join)
                box["error"] = e

        th = threading.Thread(target=run, daemon=True)
        th.start()

        def join():
            th.join(30)
            self.assertFalse(th.is_alive(), "the app is still sending after 30 s")
            if "error" in box:
                raise box["error"]
            return box.get("result")

        return join

    def own_session(self, addr):
        """The session of the client at addr: the only one there."""
        [s] = api("GET", "/api/sessions", remoteAddr=addr)
        return s

    def next_session(self):
        return self.own_session(self.addrs.get(timeout=20))

    def end_delay(self, session, by):
        """Ends the server's delay in session: waits for it to begin, then moves the clock by."""
        got = api("GET", "/api/wait/clock", session=session["id"], kind="delay", timeout="20s")
        [w] = [w for w in got["waitList"] if w["session"] == session["id"]]
        self.assertEqual(parse_time(w["ends"]), CLOCK.now() + datetime.timedelta(seconds=by), w)
        CLOCK.advance(by)

    def sessions_ended(self, count):
        """Waits for count sessions of the inbox to end; returns them."""
        return api("GET", "/api/wait/sessions", inbox=self.inbox, count=count, timeout="20s")

    def own_sessions_ended(self):
        """Waits for the session of each connection the app opened to end,
        found by its address: also those refused before a RCPT TO named
        the inbox (at MAIL), which are in no inbox; returns them."""
        ended = []
        for addr in self.all_addrs:
            [s] = api("GET", "/api/wait/sessions", remoteAddr=addr, timeout="20s")
            ended.append(s)
        return ended

    def assert_clean(self):
        """No client of this test broke a rule: those of its inbox, and
        each of its connections by address, also one refused before it
        named the inbox (at MAIL), which is in no inbox. A failure is the
        report, with the transcript lines."""
        self.assertEqual(api("GET", "/api/findings/check", inbox=self.inbox), {"met": True})
        self.own_sessions_ended()  # some findings (no QUIT) come at a session's end
        for addr in self.all_addrs:
            self.assertEqual(api("GET", "/api/findings/check", remoteAddr=addr), {"met": True})


class GreylistTest(MailTest):
    # A slow server (a minute at RCPT) that greylists for 5 minutes.
    faults = [
        {"at": "RCPT", "forRcpt": ["*@{inbox}"], "delay": "1m"},
        {"greylistFor": "5m", "forRcpt": ["*@{inbox}"]},
    ]

    def test_retry_after_greylisting(self):
        self.expect({"to": [self.to], "subject": "Invoice"})
        with CLOCK_TURN:
            t0 = CLOCK.now()
            app = self.mailer(backoffs=(0, 240))
            join = self.run_app(app.send, self.message("Invoice"))
            sessions = []
            for _ in range(3):
                s = self.next_session()
                sessions.append(s)
                self.end_delay(s, 60)
            join()
        minute = datetime.timedelta(minutes=1)
        # First attempt: 451 after the minute's delay; the retry at once (a
        # backoff of 0): greylisted again; 4 minutes after that, 5 minutes
        # after the first 451 (the early retry did not restart the wait):
        # delivered.
        self.assertEqual(app.attempts, [(t0, 451), (t0 + minute, 451), (t0 + 6 * minute, 250)])
        ended = self.sessions_ended(3)
        self.assertEqual([s["id"] for s in ended], [s["id"] for s in sessions])
        self.assertEqual([parse_time(s["clockStart"]) for s in ended], [at for at, _ in app.attempts])
        self.assertEqual([s["ended"] for s in ended], ["QUIT"] * 3)
        self.assert_clean()


class RateLimitTest(MailTest):
    # One mail per 10 minutes. A rate limit acts at MAIL, where there is
    # no recipient yet: it is this test's by its sender.
    faults = [{"rateLimitPer": {"n": 1, "interval": "10m"}, "forSender": ["*@{inbox}"]}]

    def test_second_mail_waits_for_the_rate_window(self):
        self.expect({"to": [self.to], "subjectContains": "Report"}, times=2)
        sender = "reports@" + self.inbox
        with CLOCK_TURN:
            t0 = CLOCK.now()
            app = self.mailer(backoffs=(0, 599, 1))
            app.send(self.message("Report 1", sender=sender))
            app.send(self.message("Report 2", sender=sender))
        s = datetime.timedelta(seconds=1)
        # Refused at once (a backoff of 0) and 1s before the window ends; at its end: delivered.
        self.assertEqual(app.attempts, [(t0, 250), (t0, 451), (t0, 451), (t0 + 599 * s, 451), (t0 + 600 * s, 250)])
        # Those refused at MAIL never named the inbox: by inbox, only the two that delivered.
        ended = self.own_sessions_ended()
        self.assertEqual([parse_time(s["clockStart"]) for s in ended], [at for at, _ in app.attempts])
        self.assertEqual([s["id"] for s in self.sessions_ended(2)], [ended[0]["id"], ended[-1]["id"]])
        self.assert_clean()
        self.assert_clean()


class IdleTest(MailTest):
    # The server closes a connection left idle a minute after a message.
    faults = [{"at": "message", "forRcpt": ["*@{inbox}"],
               "idleReply": {"after": "1m", "code": 421, "text": "4.4.2 idle too long"}}]

    def test_digest_reconnects_after_idle_close(self):
        self.expect({"to": [self.to], "subjectContains": "Digest"}, times=2)
        with CLOCK_TURN:
            t0 = CLOCK.now()
            app = self.mailer()
            join = self.run_app(app.send_digest, [self.message("Digest 1"), self.message("Digest 2")], 120)
            first = self.next_session()
            join()
            second = self.next_session()
        self.assertEqual([code for _, code in app.attempts], [250, 421, 250])
        ended = self.sessions_ended(2)
        self.assertEqual([s["id"] for s in ended], [first["id"], second["id"]])
        # The first closed by the idle reply, its mail delivered; the second quit.
        self.assertEqual([(s["ended"], s["messageIds"] != []) for s in ended], [("server closed", True), ("QUIT", True)])
        self.assertEqual(ended[0]["error"], "mocksmtp: closed an idle session (fault)")
        # The second connection opened as the app's clock read 2 minutes on.
        self.assertEqual([parse_time(s["clockStart"]) for s in ended], [t0, t0 + datetime.timedelta(minutes=2)])
        self.assert_clean()


class UnknownUserTest(MailTest):
    # No clock: it runs beside the others, its faults added and removed
    # while theirs fire.
    faults = [{"unknownUser": ["nobody@{inbox}"]}]

    def test_unknown_recipient_is_not_retried(self):
        self.expect({"to": [self.to], "subject": "Newsletter"})
        api("POST", "/api/expectations", {"forbidOtherMessages": True}, inbox=self.inbox)
        msg = self.message("Newsletter", to=f"{self.to}, nobody@{self.inbox}")
        app = self.mailer()
        refused = app.send(msg)
        self.assertEqual(list(refused), ["nobody@" + self.inbox])
        self.assertEqual(refused["nobody@" + self.inbox][0], 550)
        [s] = self.sessions_ended(1)
        self.assertEqual(s["id"], self.own_session(self.addrs.get(timeout=20))["id"])
        self.assert_clean()


class NextConnectionGreylistTest(MailTest):
    # Greylisting without a window: a retry on a later connection passes,
    # whatever the clock says. No turn: it runs beside the tests that move
    # the clock, whose moves it does not mind.
    faults = [{"greylist": True, "forRcpt": ["*@{inbox}"]}]

    def test_retry_at_once_passes(self):
        self.expect({"to": [self.to], "subject": "Receipt"})
        app = self.mailer(backoffs=(0,))
        app.send(self.message("Receipt"))
        self.assertEqual([code for _, code in app.attempts], [451, 250])
        self.assertEqual(len(self.sessions_ended(2)), 2)
        self.assert_clean()


# A suite has more than one test of each kind: each runs twice, in parallel
# with the rest.
for _cls in (GreylistTest, RateLimitTest, IdleTest, UnknownUserTest, NextConnectionGreylistTest):
    globals()[_cls.__name__ + "Again"] = type(_cls.__name__ + "Again", (_cls,), {})
del _cls


class ParallelSuite(unittest.TestSuite):
    """Runs its tests in parallel threads, as a shared CI fixture does."""

    def run(self, result, debug=False):
        tests = list(_flatten(self))
        results = [unittest.TestResult() for _ in tests]
        threads = [threading.Thread(target=t, args=(r,), daemon=True) for t, r in zip(tests, results)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        for test, th, r in zip(tests, threads, results):
            result.testsRun += r.testsRun
            result.failures += r.failures
            result.errors += r.errors
            result.skipped += r.skipped
            if th.is_alive():
                result.errors.append((test, "still running after 120 s"))
        return result


def _flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


if __name__ == "__main__":
    suite = ParallelSuite(unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__]))
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if res.wasSuccessful() else 1)
