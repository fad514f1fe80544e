"""Sends two messages in one session and reads how each was sent through
mocksmtp's HTTP API, for mocksmtp's interop tests
(interop/programclients_test.go).

Usage: python3 sent.py API_HOST:PORT CAFILE CERTFILE KEYFILE USER PASSWORD

With smtplib it names itself plain.example and sends message 1 in
plaintext, then starts TLS trusting CAFILE and presenting the client
certificate CERTFILE (key KEYFILE), names itself tls.example, logs in as
USER and sends message 2. With urllib it waits for both messages and
prints as JSON the "id" and "sent" of each message as each route gives
it: GET /api/wait, GET /api/messages, GET /api/messages/{id}.
"""

import json
import smtplib
import ssl
import sys
import urllib.request

API = "http://" + sys.argv[1]
CAFILE, CERTFILE, KEYFILE, USER, PASSWORD = sys.argv[2:7]


def get(path):
    """Returns the JSON body of GET path, which must answer 200."""
    with urllib.request.urlopen(API + path, timeout=30) as res:
        if res.status != 200:
            sys.exit("GET %s: %d" % (path, res.status))
        return json.load(res)


def mail(n):
    return "From: app@example.com\r\nTo: bob@example.com\r\nSubject: message %d\r\n\r\nHello.\r\n" % n


def main():
    server = get("/api/server")
    smtp = smtplib.SMTP(server["smtpHost"], server["smtpPort"], local_hostname="plain.example", timeout=20)
    smtp.ehlo()
    smtp.sendmail("app@example.com", ["bob@example.com"], mail(1))
    context = ssl.create_default_context(cafile=CAFILE)
    context.load_cert_chain(CERTFILE, KEYFILE)
    smtp.starttls(context=context)
    smtp.ehlo("tls.example")
    smtp.login(USER, PASSWORD)
    smtp.sendmail("app@example.com", ["bob@example.com"], mail(2))
    smtp.quit()

    seen = lambda ms: [{"id": m["id"], "sent": m["sent"]} for m in ms]
    routes = {
        "/api/wait": seen(get("/api/wait?count=2&timeout=10s")),
        "/api/messages": seen(get("/api/messages")),
        "/api/messages/{id}": seen([get("/api/messages/%d" % m["id"]) for m in get("/api/messages")]),
    }
    json.dump(routes, sys.stdout)


if __name__ == "__main__":
    main()
