"""Domain onboarding against a real DNS server: `postern domain add` prints the records,
we publish them in a zone served by nsd on loopback, and `postern domain check` looks them up
through Postern's resolver. Then records are altered or removed and the check must say which."""

import json
import socket
import tempfile
import time
import unittest

import harness
import nsd_server

DOMAIN = "agents.example.org"
HOST = "mx.postern.example"


@unittest.skipUnless(nsd_server.available(), "nsd is not installed")
class DomainCheckTest(harness.PosternTestCase):
    def setUp(self):
        super().setUp()
        self.p.add_domain(DOMAIN)
        self.records = self.p.cli("domain", "records", DOMAIN).stdout.strip().splitlines()
        self.zones = tempfile.mkdtemp(prefix="postern-zones-")

    def serve(self, records):
        """Starts nsd with DOMAIN's zone holding `records`, and our host's address."""
        paths = [nsd_server.zone_file(self.zones, DOMAIN, records),
                 nsd_server.zone_file(self.zones, "postern.example", [f"{HOST}. IN A 127.0.0.1"])]
        nsd = nsd_server.Nsd(paths, only_zones=[DOMAIN, "postern.example"])
        self.addCleanup(nsd.stop)
        self.p.set_config({"hostname": HOST, "dns.servers": f"127.0.0.1:{nsd.port}",
                           "dns.timeout_ms": 500, "dns.tries": 2})
        return nsd

    def check(self):
        proc = self.p.cli("domain", "check", DOMAIN, "--json", "--timeout", "20", check=False)
        self.assertIn(proc.returncode, (0, 1), proc.stderr)
        results = json.loads(proc.stdout.splitlines()[0])
        return proc.returncode, {(r["kind"], r["name"]): r for r in results}, proc.stderr

    def test_records_as_published_check_ok_and_enable_sending(self):
        # The CLI printed the records with our configured host name at init time.
        records = [r.replace("mx.postern.test.", f"{HOST}.") for r in self.records]
        self.serve(records)
        rc, results, err = self.check()
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(results), 6)
        for r in results.values():
            self.assertEqual(r["status"], "ok", r)
        self.assertIn("the domain may send", err)
        listed = self.p.cli("domain", "list").stdout
        self.assertIn("verified", listed.replace("unverified", ""))

    def test_altered_and_missing_records_are_named(self):
        records = [r.replace("mx.postern.test.", "mx.elsewhere.example.") for r in self.records]
        # Another DKIM key, no ownership record, an SPF record that excludes us.
        records = [r for r in records if "_postern-verify" not in r]
        records = [r.replace('"v=spf1 mx -all"', '"v=spf1 ip4:192.0.2.0/24 -all"') for r in records]
        records = [r.replace("k=ed25519; p=", "k=ed25519; p=AAAA") for r in records]
        self.serve(records)
        rc, results, err = self.check()
        self.assertEqual(rc, 1)
        status = {k[0] + (":" + k[1].split(".")[0] if k[0] == "dkim" else ""): r["status"]
                  for k, r in results.items()}
        self.assertEqual(status["mx"], "mismatch")
        self.assertEqual(status["spf"], "mismatch")
        self.assertEqual(status["dkim:postern-ed25519"], "mismatch")
        self.assertEqual(status["dkim:postern-rsa"], "ok")
        self.assertEqual(status["dmarc"], "ok")
        self.assertEqual(status["ownership"], "missing")
        for r in results.values():
            if r["status"] != "ok":
                self.assertTrue(r["hint"], r)
        self.assertIn("sending from it stays off", err)


class SilentDnsTest(harness.PosternTestCase):
    """A DNS server that never answers: --timeout bounds the whole check, whatever c-ares's own
    retry schedule (here 2 s, doubled on each of 3 rounds: 14 s) would take."""

    def test_timeout_bounds_the_check(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        self.addCleanup(silent.close)
        self.p.add_domain(DOMAIN)
        self.p.set_config({"dns.servers": f"127.0.0.1:{silent.getsockname()[1]}",
                           "dns.timeout_ms": 2000, "dns.tries": 3})
        started = time.monotonic()
        proc = self.p.cli("domain", "check", DOMAIN, "--json", "--timeout", "1", check=False)
        took = time.monotonic() - started
        self.assertEqual(proc.returncode, 1, proc.stderr)
        results = json.loads(proc.stdout.splitlines()[0])
        self.assertEqual(len(results), 6)
        for r in results:
            self.assertEqual(r["status"], "error", r)
        self.assertLess(took, 6, "the check ran past its --timeout of 1 s")


if __name__ == "__main__":
    unittest.main()
