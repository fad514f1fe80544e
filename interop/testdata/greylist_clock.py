"""A retry in fake time through mocksmtp's clock, for mocksmtp's interop
tests (interop/programclients_test.go).

Usage: python3 greylist_clock.py API_HOST:PORT

The program greylists for 5 minutes (PUT /api/faults, greylistFor). A
sender with smtplib is refused 451; a retry at once is refused again; the
suite's clock says five minutes passed, and moves the program's as far
(POST /api/clock/advance); the retry is then delivered. Prints as JSON
the codes of the three attempts, the clock after the move (GET
/api/clock) and the refusal of a move back.
"""

import json
import smtplib
import sys
import urllib.error
import urllib.request

API = "http://" + sys.argv[1]


def call(method, path, body=None):
    """Returns the status and JSON body of a request, also for an error status."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(API + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, json.load(res)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def send(server):
    """Sends one mail; returns 250, or the code it was refused with."""
    with smtplib.SMTP(server["smtpHost"], server["smtpPort"], local_hostname="app.example", timeout=20) as smtp:
        try:
            smtp.sendmail("app@example.com", ["bob@example.com"],
                          b"From: app@example.com\r\nTo: bob@example.com\r\nSubject: invoice\r\n\r\nHello.\r\n")
            return 250
        except smtplib.SMTPRecipientsRefused as e:
            return e.recipients["bob@example.com"][0]


def main():
    status, body = call("PUT", "/api/faults", [{"greylistFor": "5m", "declaredAt": "greylist_clock.py"}])
    if status != 200:
        sys.exit("PUT /api/faults: %d %r" % (status, body))
    _, server = call("GET", "/api/server")
    codes = [send(server), send(server)]
    status, moved = call("POST", "/api/clock/advance", {"by": "5m"})
    if status != 200:
        sys.exit("POST /api/clock/advance: %d %r" % (status, moved))
    codes.append(send(server))
    _, clock = call("GET", "/api/clock")
    back, refused = call("POST", "/api/clock/advance", {"by": "-1m"})
    json.dump({"codes": codes, "offset": clock["offset"], "back": back, "error": refused["error"]}, sys.stdout)


if __name__ == "__main__":
    main()
