"""A real MTA relays into Postern: the private Postfix peer accepts a message for a Postern
domain, delivers it to Postern's MX, and the message is then read back over REST."""

import json
import smtplib
import unittest
import urllib.request
from email.message import EmailMessage

import harness
import postfix_peer


@unittest.skipUnless(postfix_peer.available(), "postfix is not installed")
class PostfixRelayTest(harness.PosternTestCase):
    def test_postfix_delivers_into_postern(self):
        p = self.p
        p.add_domain("example.test")
        p.add_mailbox("agent@example.test")
        token = p.add_token("read", mailbox="agent@example.test")
        smtpd = p.start_smtpd()
        apid = p.start_apid()

        peer = postfix_peer.PostfixPeer(harness.free_port(), smtpd.addr("mx")[1])
        self.addCleanup(peer.close)
        peer.start()

        msg = EmailMessage()
        msg["From"] = "Sender Name <sender@client.test>"
        msg["To"] = "agent@example.test"
        msg["Subject"] = "Relayed through Postfix: déjà vu"
        msg["Message-ID"] = "<relay-1@client.test>"
        msg.set_content("Hello from the Postfix peer.\n")
        with smtplib.SMTP("127.0.0.1", peer.listen_port, timeout=30) as s:
            refused = s.send_message(msg)
        self.assertEqual(refused, {})

        host, port = apid.addr("api")

        def get(path):
            req = urllib.request.Request(f"http://{host}:{port}{path}",
                                         headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.read()

        def listed():
            data = json.loads(get("/v1/mailboxes/agent@example.test/messages"))["data"]
            return data or None

        items = harness.wait_for(listed, timeout=60, interval=0.2)
        self.assertTrue(items, "Postfix did not deliver into Postern:\n" + peer.log())
        self.assertEqual(len(items), 1)
        item = items[0]
        self.assertEqual(item["subject"], "Relayed through Postfix: déjà vu")
        self.assertEqual(item["from"]["address"], "sender@client.test")
        raw = get(f"/v1/messages/{item['id']}/raw")
        # Return-Path and our Received header on top, then Postfix's own trace header.
        headers = raw.split(b"\r\n\r\n", 1)[0]
        received = [h for h in headers.split(b"\r\nReceived:")]
        self.assertTrue(raw.startswith(b"Return-Path: <sender@client.test>\r\nReceived: from "),
                        raw[:200])
        self.assertIn(b"by peer.test (Postfix)", raw)
        self.assertGreaterEqual(len(received), 2)
        full = json.loads(get(f"/v1/messages/{item['id']}"))
        self.assertEqual(full["text"].strip(), "Hello from the Postfix peer.")
        self.assertEqual(full["message_id"], "relay-1@client.test")


if __name__ == "__main__":
    unittest.main()
