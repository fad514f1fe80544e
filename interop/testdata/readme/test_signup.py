# test_signup.py: python3 -m unittest test_signup.py, with mocksmtp running.
import json
import os
import smtplib
import unittest
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage

API = "http://" + os.environ.get("MOCKSMTP_HTTP", "127.0.0.1:8025")


def api(method, path, body=None, **params):
    """Calls mocksmtp's HTTP API; an error fails the test with its message."""
    url = API + path + "?" + urllib.parse.urlencode(params, doseq=True)
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    try:
        with urllib.request.urlopen(req) as res:
            if res.headers.get_content_type() == "text/plain":  # the normalized forms, for snapshots
                return res.read().decode()
            return None if res.status == 204 else json.load(res)
    except urllib.error.HTTPError as e:
        raise AssertionError(f"{method} {path}: {e.code} {json.load(e)['error']}") from None


# Where to send: mocksmtp says (on a free port with -listen 127.0.0.1:0, say).
SERVER = api("GET", "/api/server")


def send_welcome(to):  # the code under test
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "app@example.com", to, "Welcome, Bob!"
    msg.set_content("Your code: 123456\nOr sign in: https://app.example/login?t=abc\n")
    with smtplib.SMTP(SERVER["smtpHost"], SERVER["smtpPort"]) as smtp:
        smtp.send_message(msg)


class SignupTest(unittest.TestCase):
    def setUp(self):
        # An inbox of this test's own: tests in parallel never see each other's mail.
        self.inbox = api("POST", "/api/inboxes", {"name": self.id()})["domain"]
        self.to = "bob@" + self.inbox

    def tearDown(self):
        # Were the expectations met? If not: 417, with a diff against the nearest message.
        api("GET", "/api/expectations/check", inbox=self.inbox)

    def test_welcome_mail_has_a_code_and_a_link(self):
        # Exactly one welcome mail: a second one fails the check.
        api("POST", "/api/expectations", {"want": {"to": [self.to], "subjectContains": "Welcome"}}, inbox=self.inbox)
        send_welcome(self.to)
        # Waits (never sleep) for the first message like this one: 408 after 5 s.
        [msg] = api("GET", "/api/wait", inbox=self.inbox, subjectContains="Welcome", timeout="5s")
        self.assertEqual(msg["from"], "app@example.com")
        found = api("GET", f"/api/messages/{msg['id']}/find", re=r"code: (\d{6})")
        self.assertEqual(found["match"], "123456")
        links = api("GET", f"/api/messages/{msg['id']}/links")["links"]
        self.assertIn("https://app.example/login?t=abc", links)

    def test_no_mail_after_the_welcome_mail(self):
        send_welcome(self.to)
        [msg] = api("GET", "/api/wait", inbox=self.inbox, subjectContains="Welcome", timeout="5s")
        # And nothing more (a reminder sent too soon): 200 after 1 s without mail,
        # or a 417 as soon as one comes, naming it. Never sleep, then list.
        api("GET", "/api/wait/none", inbox=self.inbox, since=msg["id"], timeout="1s")


if __name__ == "__main__":
    unittest.main()
