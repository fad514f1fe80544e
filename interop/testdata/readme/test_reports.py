# test_reports.py: the failures a suite in Python sees, through the README's
# api() helper; run by interop/readme_test.go with test_signup.py.
import unittest

from test_signup import api, send_welcome


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.inbox = api("POST", "/api/inboxes", {"name": self.id()})["domain"]
        self.to = "bob@" + self.inbox

    def test_an_unmet_expectation_fails_with_the_report(self):
        api("POST", "/api/expectations", {"want": {"to": [self.to], "subject": "Reset your password"},
                                          "declaredAt": "test_reports.py:14"}, inbox=self.inbox)
        api("POST", "/api/expectations", {"want": {"subjectContains": "Welcome"}, "never": True}, inbox=self.inbox)
        send_welcome(self.to)
        api("GET", "/api/wait", inbox=self.inbox, timeout="5s")
        with self.assertRaises(AssertionError) as failed:
            api("GET", "/api/expectations/check", inbox=self.inbox)
        report = str(failed.exception)
        for want in [
            "GET /api/expectations/check: 417 mocksmtp: expectation at test_reports.py:14 not met: "
            "want exactly 1 message like this, got 0:\n",
            "nearest: message ",
            "1 field of 2 differs (-want +got):\n",
            '"Reset your password"',
            '"Welcome, Bob!"',
            "C: mail FROM:<app@example.com>",  # smtplib sends its verbs in lower case
            "\nmocksmtp: expectation at POST /api/expectations #",
            " not met: want no message like this, got 1:\n",
            "in all: 1 message in this inbox; ",
        ]:
            self.assertIn(want, report)

    def test_a_wait_that_times_out_fails_with_the_report(self):
        send_welcome(self.to)
        with self.assertRaises(AssertionError) as failed:
            api("GET", "/api/wait", inbox=self.inbox, subject="Reset your password", timeout="50ms")
        report = str(failed.exception)
        for want in [
            f"GET /api/wait: 408 waited 50ms for 1 message like this in the inbox {self.inbox}, got 0;",
            ' kept:\n  Want{Subject: "Reset your password"}\n',
            "1 field of 1 differs (-want +got):\n",
            "C: rcpt TO:<" + self.to + ">",
        ]:
            self.assertIn(want, report)

    def test_a_test_sees_only_its_inbox(self):
        other = api("POST", "/api/inboxes", {"name": self.id()})["domain"]
        send_welcome("ann@" + other)
        self.assertEqual(api("GET", "/api/messages", inbox=self.inbox), [])
        self.assertEqual(len(api("GET", "/api/wait", inbox=other, timeout="5s")), 1)


if __name__ == "__main__":
    unittest.main()
