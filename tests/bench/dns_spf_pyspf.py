"""The pyspf side of dns_spf_bench: SPF evaluations per second with every DNS answer in memory
(the same answers Postern's resolver got from nsd, dumped by the benchmark), i.e. the same
warm-cache condition. Run by dns_spf_bench with Debian's /usr/bin/python3 (python3-spf).

    dns_spf_pyspf.py ANSWERS.json CASES.json SECONDS

ANSWERS.json: [{"name", "type", "status", "addresses", "mx": [[pref, host]], "txt", "names"}]
CASES.json: [{"ip", "sender", "helo", "expect"}]. Prints one JSON object: {"version",
"evaluations", "seconds", "per_second", "mismatches"}.
"""

import json
import sys
import time

import spf


def load_table(path):
    table = {}
    for a in json.load(open(path)):
        key = (a["name"].lower().rstrip("."), a["type"])
        if a["status"] == "temperror":
            table[key] = "TEMPERROR"
            continue
        rrs = []
        name = a["name"]
        if a["type"] in ("A", "AAAA"):
            rrs = [((name, a["type"]), ip) for ip in a["addresses"]]
        elif a["type"] == "MX":
            rrs = [((name, "MX"), (pref, host)) for pref, host in a["mx"]]
        elif a["type"] == "TXT":
            rrs = [((name, "TXT"), [t.encode()]) for t in a["txt"]]
        elif a["type"] == "PTR":
            rrs = [((name, "PTR"), n) for n in a["names"]]
        table[key] = rrs
    return table


def main():
    answers, cases_path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    table = load_table(answers)
    cases = json.load(open(cases_path))

    def lookup(name, qtype, *args, **kwargs):
        r = table.get((name.lower().rstrip("."), qtype), [])
        if r == "TEMPERROR":
            raise spf.TempError("DNS timeout")
        return r

    spf.DNSLookup = lookup
    mismatches = 0
    for c in cases:  # warm-up, and a check that both implementations agree
        result = spf.query(i=c["ip"], s=c["sender"], h=c["helo"]).check()[0]
        if result != c["expect"]:
            mismatches += 1
            print(f"pyspf: {c} gave {result}", file=sys.stderr)
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for c in cases:
            spf.query(i=c["ip"], s=c["sender"], h=c["helo"]).check()
            n += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"version": getattr(spf, "__version__", "?"), "evaluations": n,
                      "seconds": elapsed, "per_second": n / elapsed,
                      "mismatches": mismatches}))


if __name__ == "__main__":
    main()
