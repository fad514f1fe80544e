"""A slow server at DATA ended in fake time through mocksmtp's clock, for
mocksmtp's interop tests (interop/programclients_test.go).

Usage: python3 delay_clock.py API_HOST:PORT

The program delays its 354 to DATA by an hour (PUT /api/faults, delay).
A sender with smtplib, in a thread, sends one mail and waits. The suite
waits until the server has begun the delay (GET /api/wait/clock: a move
made while the server still waited for the client's DATA would count
toward that wait, not the delay), then moves the clock an hour (POST
/api/clock/advance), and the sender delivers. No sleep, no polling.
First, with no wait on the clock, GET /api/wait/clock times out with
408. Prints as JSON what each step answered.
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
    url = API + path + ("?" + urllib.parse.urlencode(params) if params else "")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def main():
    status, body = call("PUT", "/api/faults", [{"at": "DATA", "delay": "1h", "declaredAt": "delay_clock.py"}])
    if status != 200:
        sys.exit("PUT /api/faults: %d %r" % (status, body))
    idle, idle_body = call("GET", "/api/wait/clock", timeout="50ms")
    _, server = call("GET", "/api/server")
    sent = {}

    def send():  # the code under test, which waits for the server
        try:
            with smtplib.SMTP(server["smtpHost"], server["smtpPort"], local_hostname="app.example", timeout=20) as smtp:
                smtp.sendmail("app@example.com", ["bob@example.com"],
                              b"From: app@example.com\r\nTo: bob@example.com\r\nSubject: slow\r\n\r\nHello.\r\n")
            sent["code"] = 250
        except smtplib.SMTPResponseException as e:
            sent["code"] = e.smtp_code
        except Exception as e:  # a timeout: the delay did not end
            sent["error"] = repr(e)

    sender = threading.Thread(target=send)
    sender.start()
    waited, clock = call("GET", "/api/wait/clock", count=1, timeout="10s")
    done_before_move = not sender.is_alive()
    moved, after = call("POST", "/api/clock/advance", {"by": "1h"})
    sender.join(20)
    json.dump({
        "idle": idle, "idleError": idle_body.get("error", ""),
        "waited": waited, "waits": clock.get("waits"), "doneBeforeMove": done_before_move,
        "moved": moved, "waitsAfterMove": after.get("waits"),
        "sent": sent, "alive": sender.is_alive(),
    }, sys.stdout)


if __name__ == "__main__":
    main()
