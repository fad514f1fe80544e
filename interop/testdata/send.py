"""Sends one mail with Python's smtplib, for mocksmtp's interop tests.

Usage: python3 send.py HOST PORT [--starttls | --ssl] [--cafile CA.pem]
                       [--certfile CERT.pem --keyfile KEY.pem]
                       [--user USER (--password PASSWORD | --xoauth2-token TOKEN)]
                       [--timeout SECONDS] < spec.json

--starttls upgrades with STARTTLS, --ssl speaks TLS from the first byte
(SMTPS); both verify the server's certificate and host name against the
certificate authorities in --cafile, and present the client certificate
in --certfile with its key in --keyfile when given (mutual TLS: the
ssl context's load_cert_chain). --user logs in with smtplib's
preferred mechanism among those the server offers (CRAM-MD5, PLAIN,
LOGIN); with --xoauth2-token, it logs in with XOAUTH2 through
smtplib's auth(), as Gmail's documentation shows, answering an error
challenge with the empty response. --timeout is smtplib's timeout for
each blocking socket operation (20 s by default).

The spec is the JSON form of interop's mailSpec: from, to (a list),
subject, text, and optionally html and attachments (filename, contentType,
data in base64). The message is composed with email.message.EmailMessage.
"""

import argparse
import base64
import json
import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    tls = p.add_mutually_exclusive_group()
    tls.add_argument("--starttls", action="store_true")
    tls.add_argument("--ssl", action="store_true")
    p.add_argument("--cafile")
    p.add_argument("--certfile")
    p.add_argument("--keyfile")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--xoauth2-token")
    p.add_argument("--timeout", type=float, default=20)
    args = p.parse_args()
    spec = json.load(sys.stdin)

    msg = EmailMessage()
    msg["From"] = "Alice <%s>" % spec["from"]
    msg["To"] = ", ".join(spec["to"])
    msg["Subject"] = spec["subject"]
    # smtplib sends what it is given: Date and Message-ID are the program's.
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain="client.example")
    msg.set_content(spec["text"])
    if spec.get("html"):
        msg.add_alternative(spec["html"], subtype="html")
    for a in spec.get("attachments") or []:
        maintype, subtype = a["contentType"].split("/", 1)
        msg.add_attachment(
            base64.b64decode(a["data"]),
            maintype=maintype,
            subtype=subtype,
            filename=a["filename"],
        )

    context = None
    if args.starttls or args.ssl:
        context = ssl.create_default_context(cafile=args.cafile)
        if args.certfile:
            context.load_cert_chain(args.certfile, args.keyfile)
    if args.ssl:
        s = smtplib.SMTP_SSL(args.host, args.port, local_hostname="client.example", timeout=args.timeout, context=context)
    else:
        s = smtplib.SMTP(args.host, args.port, local_hostname="client.example", timeout=args.timeout)
    try:
        if args.starttls:
            s.starttls(context=context)
        if args.xoauth2_token:
            def xoauth2(challenge=None):
                if challenge is None:
                    return "user=%s\x01auth=Bearer %s\x01\x01" % (args.user, args.xoauth2_token)
                return ""  # the answer to the JSON error challenge

            s.ehlo_or_helo_if_needed()
            s.auth("XOAUTH2", xoauth2)
        elif args.user:
            s.login(args.user, args.password)
        refused = s.send_message(msg, from_addr=spec["from"], to_addrs=spec["to"])
    finally:
        # quit() sends "quit" in lower case, like every other verb of
        # smtplib; leaving a with block would send "QUIT" instead.
        s.quit()
    if refused:
        sys.exit("refused recipients: %r" % refused)


if __name__ == "__main__":
    main()
