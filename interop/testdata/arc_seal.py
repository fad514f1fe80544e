"""Seals a mail with ARC using dkimpy (Debian's python3-dkim) and sends it
with smtplib, for mocksmtp's ARC interop test.

Usage: python3 arc_seal.py HOST PORT < spec.json

The spec: "key" (a PEM RSA private key), "record" (its DKIM key record,
"v=DKIM1; k=rsa; p=..."), "hops" (a list of {"domain", "selector",
"authservId"}: one ARC set each, the first hop first) and "tamper": ""
to send the mail as sealed, "body" to change its body after the last
seal, "seal" to change the signature (b=) of the newest ARC-Seal.

Each hop writes the Authentication-Results a receiving MTA would: the
first with no arc= result (so dkimpy seals cv=none), the next ones with
arc=pass after dkimpy's own arc_verify found the chain valid, with the
key looked up from the spec (never DNS). The script prints, as JSON,
what dkimpy's arc_verify says of the mail it sends.
"""

import json
import re
import smtplib
import sys
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

import dkim


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    spec = json.load(sys.stdin)
    key = spec["key"].encode()
    record = spec["record"].encode()

    def dnsfunc(name, timeout=5):
        return record  # every hop seals with the test's key

    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.com>"
    msg["To"] = "list@lists.example.org"
    msg["Subject"] = "Sealed by dkimpy"
    msg["Date"] = formatdate()
    msg["Message-ID"] = "<arc-1@example.com>"
    msg.set_content("Hello list,\nthis mail crossed two hops.\n")
    raw = msg.as_bytes(policy=SMTP)

    for n, hop in enumerate(spec["hops"]):
        srv_id = hop["authservId"].encode()
        if n == 0:
            results = b"spf=pass smtp.mailfrom=example.com"
        else:
            cv, _, reason = dkim.arc_verify(raw, dnsfunc=dnsfunc)
            if cv != b"pass":
                sys.exit("dkimpy's arc_verify before hop %d: %s (%s)" % (n + 1, cv, reason))
            results = b"arc=pass"
        raw = b"Authentication-Results: " + srv_id + b"; " + results + b"\r\n" + raw
        sig = dkim.arc_sign(raw, hop["selector"].encode(), hop["domain"].encode(), key, srv_id)
        if len(sig) != 3:
            sys.exit("dkimpy's arc_sign at hop %d made %d fields, want 3" % (n + 1, len(sig)))
        raw = b"".join(sig) + raw

    if spec["tamper"] == "body":
        raw = raw.replace(b"crossed two hops", b"crossed three hops")
    elif spec["tamper"] == "seal":
        # The first ARC-Seal is the newest: flip a character of its b=.
        m = re.search(rb"ARC-Seal: [^\r]*(?:\r\n[ \t][^\r]*)*", raw)
        seal = m.group(0)
        b = seal.rindex(b"b=") + 10
        flipped = seal[:b] + (b"A" if seal[b:b + 1] != b"A" else b"B") + seal[b + 1:]
        raw = raw.replace(seal, flipped, 1)

    cv, _, reason = dkim.arc_verify(raw, dnsfunc=dnsfunc)
    with smtplib.SMTP(host, port, timeout=10) as s:
        s.sendmail("alice@example.com", ["list@lists.example.org"], raw)
    print(json.dumps({"cv": (cv or b"").decode(), "reason": reason}))


if __name__ == "__main__":
    main()
