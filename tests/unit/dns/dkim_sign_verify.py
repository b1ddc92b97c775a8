"""Verifies every DKIM-Signature of a message with dkimpy (Debian's python3-dkim), the keys served
from a file instead of DNS. Used by dkim_sign_test.cpp.

usage: dkim_sign_verify.py MESSAGE KEYS
KEYS holds one record per line: "<selector>._domainkey.<domain> <TXT value>".
Exit 0 when there is at least one signature and all verify; 1 otherwise (results on stdout)."""

import re
import sys

import dkim


def main():
    message = open(sys.argv[1], "rb").read()
    records = {}
    for line in open(sys.argv[2]):
        name, _, value = line.strip().partition(" ")
        records[name.encode() + b"."] = value.encode()
        records[name.encode()] = value.encode()

    def dnsfunc(name, timeout=5):
        return records.get(name)

    count = len(re.findall(rb"(?im)^DKIM-Signature:", message))
    d = dkim.DKIM(message)
    ok = count > 0
    for i in range(count):
        try:
            good = d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            print(f"signature {i}: {e}")
            good = False
        algo = (getattr(d, "signature_fields", None) or {}).get(b"a", b"?").decode()
        print(f"signature {i} {algo}: {'pass' if good else 'fail'}")
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
