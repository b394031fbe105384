#!/usr/bin/env python3
"""Checks our ES256/EdDSA vectors (and the ES384/PS256 ones) with an independent implementation (Python
`cryptography` + a tiny CBOR reader): base45 → zlib → COSE_Sign1 → Sig_structure → signature
by the certificate named in each *.expected.json. Run from this directory."""

import glob
import hashlib
import json
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45decode(s: str) -> bytes:
    out = bytearray()
    for i in range(0, len(s), 3):
        chunk = s[i : i + 3]
        v = sum(B45.index(c) * 45**k for k, c in enumerate(chunk))
        out += v.to_bytes(2 if len(chunk) == 3 else 1, "big")
    return bytes(out)


def item(b: bytes, i: int):
    """Returns (value, next index) for the CBOR subset COSE_Sign1 needs."""
    ib = b[i]
    major, info = ib >> 5, ib & 31
    i += 1
    if info < 24:
        n = info
    else:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        n = int.from_bytes(b[i : i + size], "big")
        i += size
    if major == 0:
        return n, i
    if major == 1:
        return -1 - n, i
    if major in (2, 3):
        raw = b[i : i + n]
        return (raw if major == 2 else raw.decode()), i + n
    if major == 4:
        arr = []
        for _ in range(n):
            v, i = item(b, i)
            arr.append(v)
        return arr, i
    if major == 5:
        m = {}
        for _ in range(n):
            k, i = item(b, i)
            v, i = item(b, i)
            m[k] = v
        return m, i
    if major == 6:
        v, i = item(b, i)
        return ("tag", n, v), i
    raise ValueError(f"unsupported CBOR major type {major}")


def head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | info]) + n.to_bytes(size, "big")
    raise ValueError


def check(spec_path: str) -> None:
    spec = json.load(open(spec_path))
    if not spec.get("cert"):
        return
    text = open(spec["payload"]).read().strip()
    cose, _ = item(zlib.decompress(b45decode(text[len(spec["prefix"]) :])), 0)
    while isinstance(cose, tuple):
        cose = cose[2]
    protected, _unprotected, payload, signature = cose
    tbs = (
        head(4, 4)
        + head(3, 10) + b"Signature1"
        + head(2, len(protected)) + protected
        + head(2, 0)
        + head(2, len(payload)) + payload
    )
    cert = x509.load_pem_x509_certificate(open(spec["cert"], "rb").read())
    key = cert.public_key()
    alg = item(protected, 0)[0][1]
    kid = item(protected, 0)[0].get(4)
    ok = True
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            half = len(signature) // 2  # r‖s: 32 bytes each for ES256, 48 for ES384
            r, s = int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
            digest = hashes.SHA384() if alg == -35 else hashes.SHA256()
            key.verify(encode_dss_signature(r, s), tbs, ec.ECDSA(digest))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, tbs)
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, tbs, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    except Exception:
        ok = False
    cert_kid = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()[:8]
    expect_sig = spec["verdict"]["reason"] not in ("unknown_signer", "bad_signature")
    status = "ok" if ok == expect_sig else "MISMATCH"
    print(f"{status}: {spec_path} alg={alg} signature={'valid' if ok else 'invalid'} kid_matches_cert={kid == cert_kid}")
    if status != "ok":
        raise SystemExit(1)


for path in sorted(glob.glob("*.expected.json")):
    check(path)
