"""A greylisting window's boundary, exact, on mocksmtp's frozen clock
(-clock frozen), for mocksmtp's interop tests
(interop/programclients_test.go).

Usage: python3 greylist_frozen.py API_HOST:PORT

The program, started with -clock frozen, greylists for 5 minutes (PUT
/api/faults, greylistFor). A sender with smtplib is refused 451; the
suite's own clock stands still (freezegun) and so does the program's,
however long the sessions take in real time; after a move of 5m-1ns
(POST /api/clock/advance, "4m59.999999999s") the retry is refused 451
still, and after 1ns more it is delivered, every run. Prints as JSON the
codes of the three attempts, the clock's mode, its time at the start and
after the first session (GET /api/clock), and the time and offset each
move answered.
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


def advance(by):
    """Moves the clock ahead by; returns the clock the move answered."""
    status, moved = call("POST", "/api/clock/advance", {"by": by})
    if status != 200:
        sys.exit("POST /api/clock/advance %s: %d %r" % (by, status, moved))
    return moved


def main():
    status, body = call("PUT", "/api/faults", [{"greylistFor": "5m", "declaredAt": "greylist_frozen.py"}])
    if status != 200:
        sys.exit("PUT /api/faults: %d %r" % (status, body))
    _, server = call("GET", "/api/server")
    _, start = call("GET", "/api/clock")
    codes = [send(server)]
    _, after = call("GET", "/api/clock")
    short = advance("4m59.999999999s")
    codes.append(send(server))
    full = advance("1ns")
    codes.append(send(server))
    json.dump({"codes": codes, "mode": start["mode"], "start": start["now"], "afterSession": after["now"],
               "moves": [{"now": m["now"], "offset": m["offset"]} for m in (short, full)]}, sys.stdout)


if __name__ == "__main__":
    main()
