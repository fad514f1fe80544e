"""Waits for a session's end through mocksmtp's HTTP API, for mocksmtp's
interop tests (interop/programclients_test.go).

Usage: python3 wait_session_end.py API_HOST:PORT

It opens an SMTP session (EHLO), finds it live in GET /api/sessions,
checks that GET /api/wait/sessions/{id}?timeout=100ms answers 408 with
the session still live, starts GET /api/wait/sessions/{id}?timeout=20s
in a thread, quits, and prints as JSON the status and body of the long
wait.
"""

import json
import smtplib
import sys
import threading
import urllib.error
import urllib.request

API = "http://" + sys.argv[1]


def get(path):
    """Returns the status and JSON body of GET path, also for an error status."""
    try:
        with urllib.request.urlopen(API + path, timeout=30) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def main():
    _, server = get("/api/server")
    smtp = smtplib.SMTP(server["smtpHost"], server["smtpPort"], local_hostname="client.example", timeout=20)
    smtp.ehlo()
    _, sessions = get("/api/sessions")
    [live] = [s for s in sessions if s["live"]]
    status, body = get("/api/wait/sessions/%d?timeout=100ms" % live["id"])
    if status != 408 or not body["session"]["live"]:
        sys.exit("wait with the session open: %d %r, want 408 with the session live" % (status, body))
    result = {}

    def wait():
        result["status"], result["body"] = get("/api/wait/sessions/%d?timeout=20s" % live["id"])

    waiter = threading.Thread(target=wait)
    waiter.start()
    smtp.quit()
    waiter.join()
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
