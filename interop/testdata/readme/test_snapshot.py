# test_snapshot.py: the welcome mail and its session compared with snapshots
# (with pytest and syrupy: assert mail == snapshot), with test_signup.py's helpers.
# UPDATE=1 python3 -m unittest test_snapshot.py writes the snapshots: read them, check them in.
import os
import pathlib
import unittest

from test_signup import api, send_welcome

HERE = pathlib.Path(__file__).parent
# What changes from run to run that mocksmtp cannot know: the inbox, a code.
MASKS = {"mask": [r"[\w-]+\.inbox\.test", r"code: \d{6}"], "replacement": ["<inbox>", "code: <code>"]}


class SnapshotTest(unittest.TestCase):
    def assertSnapshot(self, got, name):
        golden = HERE / name
        if os.environ.get("UPDATE"):
            golden.write_text(got)
        self.assertEqual(got, golden.read_text())

    def test_welcome_mail_matches_its_snapshots(self):
        inbox = api("POST", "/api/inboxes", {"name": self.id()})["domain"]
        send_welcome("bob@" + inbox)
        [msg] = api("GET", "/api/wait", inbox=inbox, timeout="5s")
        # Dates, IDs, boundaries, client names and sizes come normalized.
        mail = api("GET", f"/api/messages/{msg['id']}/normalized", **MASKS)
        self.assertSnapshot(mail, "welcome.golden")
        # Once the session has ended: this waits for smtplib's QUIT.
        session = api("GET", f"/api/sessions/{msg['sessionId']}/normalized", **MASKS)
        self.assertSnapshot(session, "welcome_session.golden")


if __name__ == "__main__":
    unittest.main()
