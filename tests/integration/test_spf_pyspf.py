"""Differential test: Postern's SPF evaluator and pyspf (Debian's python3-spf, an independent
RFC 7208 implementation) agree on the same DNS data.

One zone serves both: pyspf through a replacement for `spf.DNSLookup`, ours through
tests/tools/postern-spf-eval, which loads the zone as JSON. Every case is also checked against
the result RFC 7208 requires, so that two implementations agreeing on a wrong answer still fail.
"""

import json
import os
import subprocess
import tempfile
import unittest

import spf

BIN_DIR = os.environ.get("POSTERN_BIN_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
TOOL = os.path.join(BIN_DIR, "tests", "tools", "postern-spf-eval")
RECEIVER = "receiver.test"

# name -> records, in the format postern-spf-eval reads (see tests/tools/spf_eval.cpp).
ZONE = {
    "pass.test": [{"TXT": "v=spf1 ip4:192.0.2.0/24 -all"}],
    "ip6.test": [{"TXT": "v=spf1 ip6:2001:db8::/32 -all"}],
    "a.test": [{"TXT": "v=spf1 a -all"}, {"A": "192.0.2.10"}, {"AAAA": "2001:db8::10"}],
    "acidr.test": [{"TXT": "v=spf1 a:host.acidr.test/24//64 -all"}],
    "host.acidr.test": [{"A": "198.51.100.1"}, {"AAAA": "2001:db8:1::1"}],
    "mx.test": [{"TXT": "v=spf1 mx -all"}, {"MX": [10, "mx1.mx.test"]},
                {"MX": [20, "mx2.mx.test"]}],
    "mx1.mx.test": [{"A": "192.0.2.20"}],
    "mx2.mx.test": [{"A": "192.0.2.21"}],
    "include.test": [{"TXT": "v=spf1 include:pass.test ~all"}],
    "include-fail.test": [{"TXT": "v=spf1 include:fail.test ?all"}],
    "fail.test": [{"TXT": "v=spf1 -all"}],
    "redirect.test": [{"TXT": "v=spf1 redirect=pass.test"}],
    "exists.test": [{"TXT": "v=spf1 exists:%{ir}.%{l1r-}.x.exists.test -all"}],
    "10.2.0.192.ok.x.exists.test": [{"A": "127.0.0.2"}],
    "ptr.test": [{"TXT": "v=spf1 ptr -all"}],
    "30.2.0.192.in-addr.arpa": [{"PTR": "mail.ptr.test"}],
    "mail.ptr.test": [{"A": "192.0.2.30"}],
    "softfail.test": [{"TXT": "v=spf1 ~all"}],
    "neutral.test": [{"TXT": "v=spf1 ?all"}],
    "syntax.test": [{"TXT": "v=spf1 ip4:192.0.2.300 -all"}],
    "unknown.test": [{"TXT": "v=spf1 foo:bar.test -all"}],
    "two.test": [{"TXT": "v=spf1 -all"}, {"TXT": "v=spf1 +all"}],
    "timeout.test": ["TIMEOUT"],
    "nospf.test": [{"A": "192.0.2.1"}, {"TXT": "just some text"}],
    "exp.test": [{"TXT": "v=spf1 -all exp=why.exp.test"}],
    "why.exp.test": [{"TXT": "%{i} is not one of %{d}'s designated mail servers."}],
    "exp2.test": [{"TXT": "v=spf1 -all exp=why.exp2.test"}],
    "why.exp2.test": [{"TXT": "See http://x.test/why?s=%{S}&r=%{r}"}],
    "limit.test": [{"TXT": "v=spf1 " + " ".join(f"a:h{i}.limit.test" for i in range(1, 12))
                    + " -all"}],
    **{f"h{i}.limit.test": [{"A": f"198.51.100.{i}"}] for i in range(1, 12)},
    "void.test": [{"TXT": "v=spf1 a:n1.void.test a:n2.void.test a:n3.void.test -all"}],
    "helo.test": [{"TXT": "v=spf1 a -all"}, {"A": "192.0.2.40"}],
    "cname.test": [{"CNAME": "pass.test"}],
    "split.test": [{"TXT": ["v=spf1 ip4:", "203.0.113.0/24 -all"]}],
    "mxlimit.test": [{"TXT": "v=spf1 mx -all"}]
                    + [{"MX": [i, "mx1.mx.test"]} for i in range(11)],
}

# (id, client IP, MAIL FROM, HELO, the RFC 7208 result)
CASES = [
    ("ip4-pass", "192.0.2.5", "a@pass.test", "h.test", "pass"),
    ("ip4-fail", "198.51.100.5", "a@pass.test", "h.test", "fail"),
    ("ip4-mapped-ip6", "::ffff:192.0.2.5", "a@pass.test", "h.test", "pass"),
    ("ip6-pass", "2001:db8::1", "a@ip6.test", "h.test", "pass"),
    ("ip6-fail", "2001:db9::1", "a@ip6.test", "h.test", "fail"),
    ("a-pass", "192.0.2.10", "a@a.test", "h.test", "pass"),
    ("a-ip6", "2001:db8::10", "a@a.test", "h.test", "pass"),
    ("a-cidr4", "198.51.100.77", "a@acidr.test", "h.test", "pass"),
    ("a-cidr6", "2001:db8:1::ffff", "a@acidr.test", "h.test", "pass"),
    ("a-cidr6-miss", "2001:db8:2::1", "a@acidr.test", "h.test", "fail"),
    ("mx-pass", "192.0.2.21", "a@mx.test", "h.test", "pass"),
    ("mx-fail", "192.0.2.22", "a@mx.test", "h.test", "fail"),
    ("include-pass", "192.0.2.5", "a@include.test", "h.test", "pass"),
    ("include-nomatch", "203.0.113.1", "a@include.test", "h.test", "softfail"),
    ("include-fail-is-no-match", "203.0.113.1", "a@include-fail.test", "h.test", "neutral"),
    ("redirect-pass", "192.0.2.5", "a@redirect.test", "h.test", "pass"),
    ("redirect-fail", "203.0.113.1", "a@redirect.test", "h.test", "fail"),
    ("exists-macro-pass", "192.0.2.10", "ok@exists.test", "h.test", "pass"),
    ("exists-macro-fail", "192.0.2.11", "ok@exists.test", "h.test", "fail"),
    ("ptr-pass", "192.0.2.30", "a@ptr.test", "h.test", "pass"),
    ("ptr-fail", "192.0.2.31", "a@ptr.test", "h.test", "fail"),
    ("softfail", "192.0.2.1", "a@softfail.test", "h.test", "softfail"),
    ("neutral", "192.0.2.1", "a@neutral.test", "h.test", "neutral"),
    ("bad-ip4", "192.0.2.1", "a@syntax.test", "h.test", "permerror"),
    ("unknown-mechanism", "192.0.2.1", "a@unknown.test", "h.test", "permerror"),
    ("two-records", "192.0.2.1", "a@two.test", "h.test", "permerror"),
    ("dns-timeout", "192.0.2.1", "a@timeout.test", "h.test", "temperror"),
    ("no-spf-record", "192.0.2.1", "a@nospf.test", "h.test", "none"),
    ("no-domain", "192.0.2.1", "a@nowhere.test", "h.test", "none"),
    ("exp-text", "198.51.100.9", "a@exp.test", "h.test", "fail"),
    ("exp-url-escaped", "198.51.100.9", "a+b/c@exp2.test", "h.test", "fail"),
    ("lookup-limit", "192.0.2.1", "a@limit.test", "h.test", "permerror"),
    ("void-limit", "192.0.2.1", "a@void.test", "h.test", "permerror"),
    ("null-sender-helo", "192.0.2.40", "", "helo.test", "pass"),
    ("cname-record", "192.0.2.5", "a@cname.test", "h.test", "pass"),
    ("txt-strings-joined", "203.0.113.7", "a@split.test", "h.test", "pass"),
    ("mx-limit", "192.0.2.20", "a@mxlimit.test", "h.test", "permerror"),
]

_ZONE = {name.lower(): records for name, records in ZONE.items()}


def zone_lookup(name, qtype, *args, **kwargs):
    """Stands in for spf.DNSLookup: ((name, type), value) pairs, as pyspf's own lookups give."""
    name = name.rstrip(".").lower()
    records = _ZONE.get(name)
    if records is None:
        return []  # NXDOMAIN
    has_type = any(isinstance(r, dict) and qtype in r for r in records)
    out = []
    for r in records:
        if r == "TIMEOUT":
            if not has_type:
                raise spf.TempError("DNS timeout")
            continue
        for rtype, value in r.items():
            if rtype == qtype:
                if value == "TIMEOUT":
                    raise spf.TempError("DNS timeout")
                if rtype == "TXT":
                    strings = [value] if isinstance(value, str) else value
                    out.append(((name, rtype), [s.encode() for s in strings]))
                elif rtype == "MX":
                    out.append(((name, rtype), (value[0], value[1])))
                else:
                    out.append(((name, rtype), value))
            elif rtype == "CNAME" and not has_type:
                out.append(((name, "CNAME"), value))
    return out


def pyspf_check(ip, sender, helo):
    saved = spf.DNSLookup
    spf.DNSLookup = zone_lookup
    try:
        q = spf.query(i=ip, s=sender, h=helo, receiver=RECEIVER)
        q.set_default_explanation("DEFAULT")
        result, _code, explanation = q.check()
        return result, explanation
    finally:
        spf.DNSLookup = saved


class SpfAgreesWithPyspf(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(TOOL, os.X_OK):
            raise unittest.SkipTest(f"{TOOL} not built")
        with tempfile.TemporaryDirectory() as tmp:
            zone_path = os.path.join(tmp, "zone.json")
            cases_path = os.path.join(tmp, "cases.json")
            with open(zone_path, "w") as f:
                json.dump(ZONE, f)
            with open(cases_path, "w") as f:
                json.dump([{"id": c[0], "ip": c[1], "sender": c[2], "helo": c[3]}
                           for c in CASES], f)
            out = subprocess.run([TOOL, "--zone", zone_path, "--cases", cases_path],
                                 check=True, capture_output=True, text=True, timeout=60)
        cls.ours = {}
        for line in out.stdout.splitlines():
            r = json.loads(line)
            cls.ours[r["id"]] = r

    def test_at_least_twenty_cases(self):
        self.assertGreaterEqual(len(CASES), 20)
        self.assertEqual(len(self.ours), len(CASES))

    def test_same_results(self):
        for case_id, ip, sender, helo, want in CASES:
            with self.subTest(case_id):
                theirs, their_exp = pyspf_check(ip, sender, helo)
                ours = self.ours[case_id]
                self.assertEqual(theirs, want, f"pyspf: {their_exp}")
                self.assertEqual(ours["result"], want, ours["problem"])
                if want == "fail":
                    self.assertEqual(ours["explanation"], their_exp)

    def test_explanations_are_expanded(self):
        self.assertEqual(self.ours["exp-text"]["explanation"],
                         "198.51.100.9 is not one of exp.test's designated mail servers.")
        self.assertEqual(self.ours["exp-url-escaped"]["explanation"],
                         "See http://x.test/why?s=a%2Bb%2Fc%40exp2.test&r=" + RECEIVER)
        self.assertEqual(self.ours["ip4-fail"]["explanation"], "DEFAULT")


if __name__ == "__main__":
    unittest.main()
