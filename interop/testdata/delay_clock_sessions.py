"""Two tests that share one mocksmtp program, each ending its own delay
in fake time, for mocksmtp's interop tests
(interop/programclients_test.go), as tests run in parallel by
pytest-xdist do, each with its inbox.

Usage: python3 delay_clock_sessions.py API_HOST:PORT

The script: an idle reply an hour after HELO (the server waits for the
client's next command, a wait on the clock) and a delay of an hour at
MAIL. Each test's sender, with smtplib, says EHLO, finds its session
(GET /api/sessions: the one whose remoteAddr is its socket's own
address), and sends MAIL in a thread. A wait for any wait on the clock
would return on the idle time, or on the other test's delay, and the
move meant for the delay would end the idle time (a 421) or come too
early; each test waits for its own session's delay
(session=ID&kind=delay), then the clock moves an hour, and each MAIL gets
its 250. Prints as JSON what each step answered.
"""

import json
import smtplib
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

API = "http://" + sys.argv[1]


def call(method, path, body=None, **params):
    """Returns the status and JSON body of a request, also for an error status."""
    url = API + path + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def session_of(smtp):
    """The ID of the session of smtp's connection, as a test finds it."""
    host, port = smtp.sock.getsockname()[:2]
    _, sessions = call("GET", "/api/sessions")
    return next(s["id"] for s in sessions if s["remoteAddr"] == "%s:%d" % (host, port))


def waits(clock):
    return ["%d %s" % (w["session"], w["kind"]) for w in clock.get("waitList", [])]


def main():
    status, body = call("PUT", "/api/faults", [
        {"at": "HELO", "idleReply": {"after": "1h", "code": 421, "text": "4.4.2 idle"}},
        {"at": "MAIL", "delay": "1h"}])
    if status != 200:
        sys.exit("PUT /api/faults: %d %r" % (status, body))
    _, server = call("GET", "/api/server")
    out = {}
    tests = []
    for name in ("first", "second"):
        smtp = smtplib.SMTP(server["smtpHost"], server["smtpPort"], local_hostname="app.example", timeout=20)
        smtp.ehlo()
        tests.append((name, smtp, session_of(smtp), {}))
    for name, smtp, session, got in tests:
        # Before its MAIL, its session waits only for the client (the
        # idle time), and the other test's delay may be in progress:
        # neither is its delay.
        early, early_body = call("GET", "/api/wait/clock", session=session, kind="delay", timeout="50ms")

        def mail(smtp=smtp, got=got):  # the code under test, which waits for the server
            try:
                got["code"] = smtp.mail("app@example.com")[0]
            except Exception as e:
                got["error"] = repr(e)

        sender = threading.Thread(target=mail)
        sender.start()
        waited, clock = call("GET", "/api/wait/clock", session=session, kind="delay", timeout="10s")
        out[name] = {"session": session, "early": early, "earlyWaits": early_body.get("clock", {}).get("waits"),
                     "waited": waited, "waits": waits(clock), "doneBeforeMove": not sender.is_alive()}
        got["thread"] = sender
    _, clock = call("GET", "/api/clock")
    out["all"] = waits(clock)
    out["moved"], _ = call("POST", "/api/clock/advance", {"by": "1h"})
    for name, smtp, session, got in tests:
        got.pop("thread").join(20)
        out[name]["mail"] = got
        smtp.close()
    bad, bad_body = call("GET", "/api/wait/clock", kind="delay,trickle")
    out["bad"], out["badError"] = bad, bad_body.get("error", "")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
