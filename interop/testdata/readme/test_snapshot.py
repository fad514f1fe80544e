# test_snapshot.py: the welcome mail and its session compared with snapshots
# (with pytest and syrupy: assert mail == snapshot), with test_signup.py's helpers.
import pathlib
import unittest

from test_signup import api, send_welcome

HERE = pathlib.Path(__file__).parent
# What changes from run to run that mocksmtp cannot know: the inbox, a code.
MASKS = {"mask": [r"[\w-]+\.inbox\.test", r"code: \d{6}"], "replacement": ["<inbox>", "code: <code>"]}


class SnapshotTest(unittest.TestCase):
    def test_welcome_mail_matches_its_snapshots(self):
        inbox = api("POST", "/api/inboxes", {"name": self.id()})["domain"]
        send_welcome("bob@" + inbox)
        [msg] = api("GET", "/api/wait", inbox=inbox, timeout="5s")
        # Dates, IDs, boundaries, client names and sizes come normalized.
        mail = api("GET", f"/api/messages/{msg['id']}/normalized", **MASKS)
        self.assertEqual(mail, (HERE / "welcome.golden").read_text())
        # Once the session has ended: this waits for smtplib's QUIT.
        session = api("GET", f"/api/sessions/{msg['sessionId']}/normalized", **MASKS)
        self.assertEqual(session, (HERE / "welcome_session.golden").read_text())


if __name__ == "__main__":
    unittest.main()
