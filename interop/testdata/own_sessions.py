"""Two tests that share one mocksmtp program, each with its inbox, each
waiting for its own SMTP session to end while the other's stays open, for
mocksmtp's interop tests (interop/programclients_test.go), as tests run
in parallel by pytest-xdist do.

Usage: python3 own_sessions.py API_HOST:PORT

Each test's sender connects with smtplib and says EHLO; the first sends
its mail at once, the second only after its waits began. Each test then
finds its own session (GET /api/sessions?inbox=D, and ?remoteAddr= its
socket's own address, sock.getsockname()), waits for it to end (GET
/api/wait/sessions?inbox=D, and ?remoteAddr=) in threads, quits, and
reads the waits' answers; before it quits, a short wait answers 408 and
shows its own open session only. Prints as JSON what each step answered.
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


def remote_addr(smtp):
    """The client's address as mocksmtp records it: its socket's own."""
    host, port = smtp.sock.getsockname()[:2]
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def ids(sessions):
    """The IDs of a list of sessions; an error's body as it is."""
    return [s["id"] for s in sessions] if isinstance(sessions, list) else sessions


def send(smtp, to):  # the code under test
    smtp.sendmail("app@example.com", [to], "Subject: Welcome\r\n\r\nHi\r\n")


def main():
    _, server = call("GET", "/api/server")
    tests = []
    for name in ("first", "second"):
        _, inbox = call("POST", "/api/inboxes", {"name": name})
        smtp = smtplib.SMTP(server["smtpHost"], server["smtpPort"], local_hostname=name + ".example", timeout=20)
        smtp.ehlo()
        tests.append((name, inbox, smtp, remote_addr(smtp)))
    first = tests[0]
    send(first[2], first[1]["address"])  # the first test's session names its inbox now
    out = {}
    for name, inbox, smtp, addr in tests:
        got = {"addr": addr}
        domain = inbox["domain"]
        results = {}

        def wait(key, **params):
            results[key] = call("GET", "/api/wait/sessions", timeout="20s", **params)

        waiters = [threading.Thread(target=wait, args=("byInbox",), kwargs={"inbox": domain}),
                   threading.Thread(target=wait, args=("byAddr",), kwargs={"remoteAddr": addr})]
        for w in waiters:
            w.start()
        if name == "second":
            # Its session names the inbox only now, after the wait began.
            send(smtp, inbox["address"])
        _, got["listedByInbox"] = call("GET", "/api/sessions", inbox=domain)
        _, got["listedByAddr"] = call("GET", "/api/sessions", remoteAddr=addr)
        got["listedByInbox"], got["listedByAddr"] = ids(got["listedByInbox"]), ids(got["listedByAddr"])
        status, body = call("GET", "/api/wait/sessions", inbox=domain, remoteAddr=addr, timeout="50ms")
        got["short"], got["shortError"] = status, body.get("error", "")
        smtp.quit()
        for w in waiters:
            w.join(30)
        for key, (status, sessions) in results.items():
            got[key] = {"status": status, "sessions": ids(sessions),
                        "ended": [s["ended"] for s in sessions] if status == 200 else []}
        _, everyone = call("GET", "/api/sessions")
        got["liveAfter"] = [s["id"] for s in everyone if s["live"]]
        out[name] = got
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
