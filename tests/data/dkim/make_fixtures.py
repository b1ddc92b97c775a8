#!/usr/bin/python3
"""Regenerates the signed fixtures in this folder with dkimpy (Debian's python3-dkim).

    /usr/bin/python3 tests/data/dkim/make_fixtures.py

Writes (CRLF line ends, ready for a strict verifier):
  dkimpy/test.signed.eml      test.message signed d=example.com s=test with test.private
  dkimpy/test.signed-l.eml    the same with l= (body length) in the signature
  dkimpy/test.signed-sub.eml  the same with i=@sub.example.com (for key t=s)
  dkimpy/test.signed-sha1.eml the same with a=rsa-sha1 (historic, RFC 8301)
  bench/message.eml           a 4 KiB message signed with an RSA-2048 key (s=rsa) and an
                              Ed25519 key (s=ed), d=bench.example; keys in bench/, made on
                              first run: openssl genpkey (RSA) and 32 random bytes (Ed25519 seed)
  bench/*._domainkey.bench.example.txt   their key records
Each signature is checked with dkim.verify() against the matching record before it is written.
"""
import base64
import os
import subprocess
import sys

import dkim
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization

HERE = os.path.dirname(os.path.abspath(__file__))


def path(*parts):
    return os.path.join(HERE, *parts)


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def read(*parts):
    with open(path(*parts), "rb") as f:
        return f.read()


def write(data, *parts):
    with open(path(*parts), "wb") as f:
        f.write(data)


def check(message, records):
    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip("."), "").encode()

    d = dkim.DKIM(message)
    sigs = [h for h in d.headers if h[0].lower() == b"dkim-signature"]
    for i in range(len(sigs)):
        if not d.verify(idx=i, dnsfunc=dnsfunc):
            sys.exit("fixture does not verify (signature %d)" % i)


def dkimpy_fixtures():
    message = crlf(read("dkimpy", "test.message"))
    key = read("dkimpy", "test.private")
    records = {"test._domainkey.example.com": read("dkimpy", "test.txt").decode().strip()}
    for name, extra in (("test.signed.eml", {}),
                        ("test.signed-l.eml", {"length": True}),
                        ("test.signed-sub.eml", {"identity": b"@sub.example.com"}),
                        ("test.signed-sha1.eml", {"signature_algorithm": b"rsa-sha1"})):
        sig = dkim.sign(message, b"test", b"example.com", key, **extra)
        check(sig + message, records)
        write(sig + message, "dkimpy", name)


def bench_message():
    headers = (b"Received: from mail.bench.example (mail.bench.example [192.0.2.7])\n"
               b"\tby mx.postern.example with ESMTPS id 4Xk2; Mon, 23 Nov 2026 10:00:00 +0000\n"
               b"From: Bench Sender <sender@bench.example>\n"
               b"To: Agent <agent@postern.example>\n"
               b"Subject: Quarterly numbers for the agent run\n"
               b"Date: Mon, 23 Nov 2026 10:00:00 +0000\n"
               b"Message-ID: <bench-4k@bench.example>\n"
               b"MIME-Version: 1.0\n"
               b"Content-Type: text/plain; charset=utf-8\n\n")
    line = b"The quick brown fox jumps over the lazy dog, then files its expense report.\n"
    # About 4 KiB once the two signatures (about 1 KiB) are on top.
    body = line * ((4096 - 1000 - len(headers)) // len(line))
    return crlf(headers + body)


def bench_fixtures():
    rsa_pem = path("bench", "rsa.private.pem")
    if not os.path.exists(rsa_pem):
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA",
                        "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsa_pem], check=True)
    seed_file = path("bench", "ed.seed.b64")
    if not os.path.exists(seed_file):
        write(base64.b64encode(os.urandom(32)) + b"\n", "bench", "ed.seed.b64")
    rsa_spki = subprocess.run(["openssl", "pkey", "-in", rsa_pem, "-pubout", "-outform", "DER"],
                              check=True, capture_output=True).stdout
    seed = base64.b64decode(read("bench", "ed.seed.b64"))
    ed_pub = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    records = {
        "rsa._domainkey.bench.example":
            "v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_spki).decode(),
        "ed._domainkey.bench.example":
            "v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_pub).decode(),
    }
    for name, value in records.items():
        write(value.encode() + b"\n", "bench", name + ".txt")
    message = bench_message()
    sig_ed = dkim.sign(message, b"ed", b"bench.example", read("bench", "ed.seed.b64").strip(),
                       canonicalize=(b"relaxed", b"relaxed"),
                       signature_algorithm=b"ed25519-sha256")
    sig_rsa = dkim.sign(sig_ed + message, b"rsa", b"bench.example", read("bench", "rsa.private.pem"),
                        canonicalize=(b"relaxed", b"relaxed"))
    signed = sig_rsa + sig_ed + message
    check(signed, records)
    write(signed, "bench", "message.eml")


if __name__ == "__main__":
    dkimpy_fixtures()
    bench_fixtures()
