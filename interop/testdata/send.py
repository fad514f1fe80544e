"""Sends one mail with Python's smtplib, for mocksmtp's interop tests.

Usage: python3 send.py HOST PORT < spec.json

The spec is the JSON form of interop's mailSpec: from, to (a list),
subject, text, and optionally html and attachments (filename, contentType,
data in base64). The message is composed with email.message.EmailMessage.
"""

import base64
import json
import smtplib
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


def main():
    host, port = sys.argv[1], int(sys.argv[2])
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

    s = smtplib.SMTP(host, port, local_hostname="client.example", timeout=20)
    try:
        refused = s.send_message(msg, from_addr=spec["from"], to_addrs=spec["to"])
    finally:
        # quit() sends "quit" in lower case, like every other verb of
        # smtplib; leaving a with block would send "QUIT" instead.
        s.quit()
    if refused:
        sys.exit("refused recipients: %r" % refused)


if __name__ == "__main__":
    main()
