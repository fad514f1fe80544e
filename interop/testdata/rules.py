"""Reads the conformance rules of mocksmtp's program through its HTTP API,
for mocksmtp's interop tests (interop/programclients_test.go).

Usage: python3 rules.py API_HOST:PORT

It reads GET /api/rules, then sends with smtplib a mail without a
Message-ID and closes the connection without QUIT, waits for the session
to end (GET /api/wait/sessions?count=1), and prints as JSON the rules and
the findings of GET /api/findings, each finding's rule looked up in the
rules: {"rules": [...], "findings": [{"rule", "ref", "listed", "enabled"}]}.
"""

import json
import smtplib
import sys
import urllib.request

API = "http://" + sys.argv[1]


def get(path):
    """Returns the JSON body of GET path, which must answer 200."""
    with urllib.request.urlopen(API + path, timeout=30) as res:
        if res.status != 200:
            sys.exit("GET %s: %d" % (path, res.status))
        return json.load(res)


def main():
    rules = get("/api/rules")
    by_name = {r["rule"]: r for r in rules}
    server = get("/api/server")
    smtp = smtplib.SMTP(server["smtpHost"], server["smtpPort"], local_hostname="client.example", timeout=20)
    smtp.sendmail(
        "alice@example.com",
        ["bob@example.com"],
        "Date: Sun, 06 Dec 2026 05:00:00 +0000\r\n"
        "From: alice@example.com\r\n"
        "To: bob@example.com\r\n"
        "Subject: no Message-ID\r\n"
        "\r\n"
        "Hello.\r\n",
    )
    smtp.close()  # no QUIT
    get("/api/wait/sessions?count=1&timeout=10s")
    findings = []
    for f in get("/api/findings"):
        r = by_name.get(f["rule"])
        findings.append({
            "rule": f["rule"],
            "ref": f["ref"],
            "listed": r is not None,
            "enabled": bool(r and r["enabled"]),
        })
    json.dump({"rules": rules, "findings": findings}, sys.stdout)


if __name__ == "__main__":
    main()
