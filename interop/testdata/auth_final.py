"""Authenticates with Python's smtplib, for mocksmtp's interop tests of
a SASL mechanism that succeeds with additional data (RFC 4422 3.6),
which SMTP sends as a last 334 challenge answered with an empty line
(RFC 4954 4).

Usage: python3 auth_final.py HOST PORT MECHANISM USER PASSWORD

MECHANISM is SCRAM-SHA-256 (RFC 5802, RFC 7677: this script's own client,
with hashlib and hmac, that checks the server's signature) or X-FINAL (a
test mechanism: the password as initial response, then whatever comes).
It prints one JSON object: the challenges received, decoded ("challenges"),
AUTH's final reply code and text, and for SCRAM whether the server's
signature was checked ("verified").
"""

import base64
import hashlib
import hmac
import json
import os
import smtplib
import sys


class Scram:
    def __init__(self, user, password):
        self.user, self.password = user, password
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = "n=%s,r=%s" % (user, self.nonce)
        self.verified = False
        self.server_signature = None

    def step(self, challenge):
        if challenge is None:
            return "n,," + self.first_bare
        msg = challenge.decode()
        if msg.startswith("v="):
            want = base64.b64encode(self.server_signature).decode()
            if msg[2:] != want:
                raise ValueError("the server's signature is wrong")
            self.verified = True
            return ""
        attrs = dict(kv.split("=", 1) for kv in msg.split(","))
        salt = base64.b64decode(attrs["s"])
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, int(attrs["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_message = ",".join([self.first_bare, msg, without_proof]).encode()
        signature = hmac.new(stored, auth_message, hashlib.sha256).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        self.server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        return without_proof + ",p=" + base64.b64encode(proof).decode()


def main():
    host, port, mechanism, user, password = sys.argv[1:6]
    challenges = []
    scram = Scram(user, password)

    def authobject(challenge=None):
        if challenge is not None:
            challenges.append(challenge.decode("latin-1"))
        if mechanism == "X-FINAL":
            return password if challenge is None else ""
        return scram.step(challenge)

    with smtplib.SMTP(host, int(port), timeout=20) as s:
        s.ehlo("client.example")
        try:
            code, text = s.auth(mechanism, authobject, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as e:
            code, text = e.smtp_code, e.smtp_error
        print(json.dumps({"challenges": challenges, "code": code, "text": text.decode(),
                          "verified": scram.verified}))


if __name__ == "__main__":
    main()
