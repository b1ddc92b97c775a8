"""Postern's resolver (c-ares on Asio, with its cache) against a real authoritative DNS server:
nsd on 127.0.0.1, serving the zones in tests/data/dmarc/ and tests/data/dns/. Questions go
through tests/tools/postern-dns-query, which prints the answers as JSON; the expectations come
from the zone files. SPF and DMARC also run end to end, through the async drivers.
"""

import json
import os
import socket
import subprocess
import time
import unittest

from nsd_server import NSD, Nsd

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
BIN_DIR = os.environ.get("POSTERN_BIN_DIR") or os.path.join(HERE, "..", "..", "build")
TOOL = os.path.join(BIN_DIR, "tests", "tools", "postern-dns-query")
DEADLINE = 20  # seconds for anything to start, stop or answer


def parse(stdout):
    answers, stats, other = [], [], []
    for line in stdout.splitlines():
        r = json.loads(line)
        if "question" in r:
            answers.append(r)
        elif "stats" in r:
            stats.append(r["stats"])
        else:
            other.append(r)
    return answers, stats, other


class ResolverAgainstNsd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(TOOL, os.X_OK):
            raise unittest.SkipTest(f"{TOOL} not built")
        if not os.access(NSD, os.X_OK):
            raise unittest.SkipTest("nsd is not installed")
        dmarc, dns = os.path.join(DATA, "dmarc"), os.path.join(DATA, "dns")
        zones = [os.path.join(dmarc, f) for f in ("football.example.com.zone",
                                                  "example.com.zone")]
        zones += [os.path.join(dns, f) for f in ("resolver.test.zone",
                                                 "2.0.192.in-addr.arpa.zone")]
        cls.nsd = Nsd(zones)
        try:
            cls.other = Nsd([os.path.join(dns, "elsewhere.test.zone")],
                            only_zones=["elsewhere.test"])
        except Exception:
            cls.nsd.stop()
            raise
        cls.servers = f"127.0.0.1:{cls.nsd.port},127.0.0.1:{cls.other.port}"

    @classmethod
    def tearDownClass(cls):
        cls.other.stop()
        cls.nsd.stop()

    def run_tool(self, *args, servers=None, timeout=DEADLINE):
        out = subprocess.run([TOOL, "--server", servers or self.servers, *args],
                             capture_output=True, text=True, timeout=timeout)
        self.assertEqual(out.returncode, 0, out.stderr)
        return parse(out.stdout)

    def ask(self, *questions):
        answers, stats, _ = self.run_tool(*questions)
        return {f'{a["question"]["type"]}:{a["question"]["name"]}': a for a in answers}, stats[0]

    def test_addresses(self):
        got, _ = self.ask("A:multi.resolver.test", "AAAA:multi.resolver.test",
                          "A:mx1.football.example.com")
        a = got["A:multi.resolver.test"]
        self.assertEqual(a["status"], "ok")
        self.assertEqual(sorted(a["addresses"]), ["192.0.2.1", "192.0.2.2"])
        self.assertEqual(a["ttl"], 300)
        self.assertEqual(sorted(got["AAAA:multi.resolver.test"]["addresses"]),
                         ["2001:db8::1", "2001:db8::2"])
        self.assertEqual(got["A:mx1.football.example.com"]["addresses"], ["127.0.0.2"])

    def test_mx_in_preference_order_and_null_mx(self):
        got, _ = self.ask("MX:football.example.com", "MX:nullmx.football.example.com",
                          "MX:example.com")
        self.assertEqual(got["MX:football.example.com"]["mx"],
                         [[10, "mx1.football.example.com"], [20, "mx2.football.example.com"]])
        self.assertEqual(got["MX:nullmx.football.example.com"]["mx"], [[0, ""]])
        self.assertEqual(got["MX:example.com"]["mx"], [[10, "mail.example.com"]])

    def test_txt_strings_are_joined_per_record(self):
        got, _ = self.ask("TXT:test._domainkey.football.example.com", "TXT:football.example.com",
                          "TXT:big.resolver.test")
        dkim = got["TXT:test._domainkey.football.example.com"]["txt"]
        self.assertEqual(len(dkim), 1)
        self.assertTrue(dkim[0].startswith("v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQ"))
        self.assertIn("3idY6Wk08a5qhdR6wy5bdOKb2jLQiY", dkim[0])  # across a string boundary
        self.assertTrue(dkim[0].endswith("IDAQAB"))
        self.assertEqual(got["TXT:football.example.com"]["txt"],
                         ["v=spf1 ip4:127.0.0.0/8 ip4:192.0.2.0/24 -all"])
        # 16 records of 110 octets: truncated over UDP, fetched again over TCP by c-ares.
        big = sorted(got["TXT:big.resolver.test"]["txt"])
        self.assertEqual(big, [f"record {i:02d} " + "x" * 100 for i in range(16)])

    def test_ptr(self):
        got, _ = self.ask("PTR:1.2.0.192.in-addr.arpa", "PTR:2.2.0.192.in-addr.arpa")
        self.assertEqual(sorted(got["PTR:1.2.0.192.in-addr.arpa"]["names"]),
                         ["multi.resolver.test", "other.example"])
        self.assertEqual(got["PTR:2.2.0.192.in-addr.arpa"]["names"], ["multi.resolver.test"])

    def test_cname_chasing(self):
        got, _ = self.ask("MX:cnamemx.football.example.com", "A:alias.football.example.com",
                          "TXT:chain1.resolver.test", "A:outside2.resolver.test",
                          "CNAME:chain1.resolver.test", "A:loop1.resolver.test",
                          "A:dangling.resolver.test")
        # The MX target is a CNAME (RFC 2181 §10.3 forbids it; seen in the wild): reported as
        # written, and its address lookup follows the CNAME.
        self.assertEqual(got["MX:cnamemx.football.example.com"]["mx"],
                         [[10, "alias.football.example.com"]])
        alias = got["A:alias.football.example.com"]
        self.assertEqual(alias["addresses"], ["127.0.0.2"])
        self.assertEqual(alias["canonical_name"], "mx1.football.example.com")
        chain = got["TXT:chain1.resolver.test"]
        self.assertEqual(chain["txt"], ["end of the chain"])
        self.assertEqual(chain["canonical_name"], "chain3.resolver.test")
        self.assertEqual(chain["ttl"], 120)  # the lowest TTL along the chain
        self.assertEqual(got["A:outside2.resolver.test"]["canonical_name"],
                         "mx1.football.example.com")
        self.assertEqual(got["CNAME:chain1.resolver.test"]["names"], ["chain2.resolver.test"])
        self.assertEqual(got["A:loop1.resolver.test"]["status"], "temperror")
        dangling = got["A:dangling.resolver.test"]
        self.assertEqual(dangling["status"], "nxdomain")  # the RCODE is for the last name
        self.assertEqual(dangling["canonical_name"], "nowhere.resolver.test")

    def test_record_data_that_names_no_host_is_dropped(self):
        # c-ares hands such names on escaped ("bad\\.label"); asking for them could only fail.
        got, _ = self.ask("MX:badmx.resolver.test", "MX:allbadmx.resolver.test",
                          "PTR:3.2.0.192.in-addr.arpa", "A:badalias.resolver.test")
        self.assertEqual(got["MX:badmx.resolver.test"]["mx"], [[20, "mail.resolver.test"]])
        self.assertEqual(got["MX:allbadmx.resolver.test"]["status"], "permerror")
        self.assertEqual(got["MX:allbadmx.resolver.test"]["mx"], [])
        # c-ares itself (since 1.17.2, CVE-2021-3672) refuses a PTR reply with such a name.
        self.assertEqual(got["PTR:3.2.0.192.in-addr.arpa"]["status"], "permerror")
        self.assertEqual(got["A:badalias.resolver.test"]["status"], "permerror")
        # A '/' is allowed in an alias: RFC 2317 classless reverse delegation.
        got, _ = self.ask("PTR:5.2.0.192.in-addr.arpa")
        classless = got["PTR:5.2.0.192.in-addr.arpa"]
        self.assertEqual(classless["names"], ["multi.resolver.test"], classless)
        self.assertEqual(classless["canonical_name"], "5.0/25.2.0.192.in-addr.arpa")

    def test_bare_cname_is_followed_with_a_second_query(self):
        got, stats = self.ask("A:far.resolver.test")
        far = got["A:far.resolver.test"]
        self.assertEqual(far["status"], "ok", far)
        self.assertEqual(far["addresses"], ["192.0.2.50"])
        self.assertEqual(far["canonical_name"], "target.elsewhere.test")
        self.assertEqual(far["ttl"], 200)  # min(CNAME 250, A 200)
        self.assertEqual(stats["queries"], 2)

    def test_negative_answers_carry_the_soa_ttl(self):
        got, _ = self.ask("A:nope.football.example.com", "A:txtonly.resolver.test",
                          "MX:implicit.football.example.com", "A:nope.resolver.test")
        self.assertEqual(got["A:nope.football.example.com"]["status"], "nxdomain")
        self.assertEqual(got["A:nope.football.example.com"]["ttl"], 300)
        self.assertEqual(got["A:txtonly.resolver.test"]["status"], "nodata")
        self.assertEqual(got["A:txtonly.resolver.test"]["ttl"], 60)  # SOA MINIMUM 60 < TTL 300
        self.assertEqual(got["MX:implicit.football.example.com"]["status"], "nodata")
        self.assertEqual(got["A:nope.resolver.test"]["ttl"], 60)

    def test_bad_names_are_permerror_without_a_query(self):
        got, stats = self.ask("A:a..example.com", "TXT:" + "x" * 64 + ".example.com",
                              "A:" + ".".join(["a" * 63] * 4) + ".example")
        self.assertEqual([a["status"] for a in got.values()], ["permerror"] * 3)
        self.assertEqual(stats["queries"], 0)

    def test_concurrent_lookups_share_one_query(self):
        _, stats = self.ask(*["MX:football.example.com"] * 5, "TXT:example.com")
        self.assertEqual(stats["lookups"], 6)
        self.assertEqual(stats["queries"], 2)
        self.assertEqual(stats["coalesced"], 4)

    def test_many_lookups_on_four_io_threads(self):
        questions = ([f"A:n{i}.resolver.test" for i in range(200)] +
                     ["MX:football.example.com"] * 20 + ["TXT:big.resolver.test"] * 3 +
                     ["A:far.resolver.test"] * 3 + ["PTR:1.2.0.192.in-addr.arpa"])
        answers, stats, _ = self.run_tool("--threads", "4", *questions)
        self.assertEqual(len(answers), len(questions))
        for a in answers:
            name = a["question"]["name"]
            want = "nxdomain" if name.startswith("n") else "ok"
            self.assertEqual(a["status"], want, a)
        self.assertEqual(stats[0]["lookups"], len(questions))
        self.assertEqual(stats[0]["coalesced"], 19 + 2 + 2)
        self.assertEqual(stats[0]["queries"], 200 + 1 + 1 + 2 + 1)

    def test_a_burst_of_distinct_lookups(self):
        # Far more than max_in_flight: the rest wait their turn, and all are answered.
        questions = [f"A:burst{i}.resolver.test" for i in range(3000)]
        answers, stats, _ = self.run_tool(*questions, timeout=60)
        self.assertEqual(len(answers), 3000)
        self.assertEqual({a["status"] for a in answers}, {"nxdomain"})
        self.assertEqual(stats[0]["queries"], 3000)

    def test_timeout_is_temperror_within_timeout_times_tries(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # takes queries, never answers
        silent.bind(("127.0.0.1", 0))
        try:
            server = f"127.0.0.1:{silent.getsockname()[1]}"
            start = time.monotonic()
            got, _, _ = self.run_tool("--timeout-ms", "200", "--tries", "2", "A:x.resolver.test",
                                      "MX:y.resolver.test", servers=server)
            elapsed = time.monotonic() - start
            self.assertEqual([a["status"] for a in got], ["temperror"] * 2)
            for a in got:  # c-ares 1.18 doubles the timeout per round: 200 + 400 ms
                self.assertGreaterEqual(a["ms"], 550)
                self.assertLess(a["ms"], 1500)
            self.assertLess(elapsed, 5)

            # A caller's deadline comes before c-ares gives up.
            got, stats, _ = self.run_tool("--timeout-ms", "300", "--tries", "1",
                                          "--deadline-ms", "100", "A:x.resolver.test",
                                          servers=server)
            self.assertEqual(got[0]["status"], "temperror")
            self.assertGreaterEqual(got[0]["ms"], 90)
            self.assertLess(got[0]["ms"], 290)
            self.assertEqual(stats[0]["deadline_expired"], 1)
        finally:
            silent.close()

    def test_spf_end_to_end(self):
        _, _, other = self.run_tool(
            "--spf", "192.0.2.1,a@spf.resolver.test,h.example",
            "--spf", "198.51.100.25,a@spf.resolver.test,h.example",
            "--spf", "127.0.0.3,x@sub.football.example.com,h.example",
            "--spf", "203.0.113.9,x@spf.resolver.test,h.example",
            "--spf", "192.0.2.1,a@ptrspf.resolver.test,h.example",
            "--spf", "192.0.2.9,a@ptrspf.resolver.test,h.example",
            "--spf", "192.0.2.1,a@example.com,h.example",
            "--spf", "192.0.2.1,a@nope.resolver.test,h.example")
        got = [(o["spf"]["ip"], o["spf"]["sender"], o["spf"]["result"], o["spf"]["mechanism"])
               for o in other]
        self.assertEqual(got, [
            ("192.0.2.1", "a@spf.resolver.test", "pass", "a:multi.resolver.test"),
            ("198.51.100.25", "a@spf.resolver.test", "pass", "mx"),
            ("127.0.0.3", "x@sub.football.example.com", "pass", "include:football.example.com"),
            ("203.0.113.9", "x@spf.resolver.test", "fail", "-all"),
            ("192.0.2.1", "a@ptrspf.resolver.test", "pass", "ptr:resolver.test"),
            ("192.0.2.9", "a@ptrspf.resolver.test", "fail", "-all"),
            ("192.0.2.1", "a@example.com", "pass", "ip4:192.0.2.1"),
            ("192.0.2.1", "a@nope.resolver.test", "none", ""),  # NXDOMAIN: no record
        ])

    def test_destroying_the_resolver_ends_lookups_in_flight(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        try:
            start = time.monotonic()
            got, stats, _ = self.run_tool("--timeout-ms", "2000", "--tries", "3",
                                          "--destroy-after-ms", "100", "A:x.resolver.test",
                                          "A:x.resolver.test", "TXT:y.resolver.test",
                                          servers=f"127.0.0.1:{silent.getsockname()[1]}")
            self.assertEqual([a["status"] for a in got], ["temperror"] * 3)
            for a in got:
                self.assertLess(a["ms"], 1000)
            self.assertLess(time.monotonic() - start, 5)  # not c-ares' 14 s of retries
            self.assertEqual(stats, [])  # no resolver left to ask
        finally:
            silent.close()

    def test_spf_temperror_when_dns_times_out(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        try:
            _, _, other = self.run_tool("--timeout-ms", "100", "--tries", "1",
                                        "--spf", "192.0.2.1,a@example.com,h.example",
                                        servers=f"127.0.0.1:{silent.getsockname()[1]}")
            self.assertEqual(other[0]["spf"]["result"], "temperror")
        finally:
            silent.close()

    def test_dmarc_discovery(self):
        _, _, other = self.run_tool("--dmarc", "football.example.com",
                                    "--dmarc", "sub.football.example.com")
        d = {o["dmarc"]["domain"]: o["dmarc"] for o in other}
        self.assertEqual(d["football.example.com"]["p"], "reject")
        self.assertFalse(d["football.example.com"]["subdomain_policy"])
        sub = d["sub.football.example.com"]
        self.assertEqual((sub["status"], sub["policy_domain"]), ("found", "example.com"))
        self.assertTrue(sub["subdomain_policy"])

    def test_cache_answers_when_the_server_is_gone(self):
        """Pass 1 asks a private nsd; it is stopped; pass 2 must come from the cache."""
        zones = [os.path.join(DATA, "dmarc", "football.example.com.zone"),
                 os.path.join(DATA, "dns", "resolver.test.zone")]
        nsd = Nsd(zones, only_zones=["football.example.com", "resolver.test"])
        try:
            args = [TOOL, "--server", f"127.0.0.1:{nsd.port}", "--timeout-ms", "200",
                    "--tries", "1", "--twice", "MX:football.example.com",
                    "A:nope.football.example.com", "A:txtonly.resolver.test",
                    "A:zero.resolver.test", "TXT:chain1.resolver.test"]
            proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if '"ready"' in line:
                    break
            nsd.stop()
            out, err = proc.communicate("\n", timeout=DEADLINE)
            self.assertEqual(proc.returncode, 0, err)
        finally:
            nsd.stop()
        answers, stats, _ = parse("".join(lines) + out)
        first = {a["question"]["name"]: a for a in answers if a["pass"] == 1}
        second = {a["question"]["name"]: a for a in answers if a["pass"] == 2}
        for name in ("football.example.com", "nope.football.example.com",
                     "txtonly.resolver.test", "chain1.resolver.test"):
            with self.subTest(name):
                self.assertEqual(second[name]["status"], first[name]["status"])
                self.assertEqual(second[name]["mx"], first[name]["mx"])
                self.assertEqual(second[name]["txt"], first[name]["txt"])
                self.assertLessEqual(second[name]["ttl"], first[name]["ttl"])
        self.assertEqual(first["zero.resolver.test"]["status"], "ok")
        self.assertEqual(second["zero.resolver.test"]["status"], "temperror")  # TTL 0: not kept
        self.assertEqual(stats[0]["queries"], 5)
        self.assertEqual(stats[1]["queries"], 6)  # only the TTL-0 name was asked again
        self.assertEqual(stats[1]["cache_hits"], 4)


if __name__ == "__main__":
    unittest.main()
