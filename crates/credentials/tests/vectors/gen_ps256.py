#!/usr/bin/env python3
"""Generates the PS256 test vector with an implementation independent of ours.

`ring` cannot generate RSA keys, and we never sign with PS256, so this HCERT-style payload
(prefix HC1:, kid only in the protected header, claims 1/4/6 and the HCERT claim -260, no
exitentry body) is made once with Python `cryptography` and kept in the repository.

Run from this directory: python3 gen_ps256.py   (needs the `cryptography` package)
Writes ps256-hcert.{payload.txt,cert.pem,spki.pem,jwk.json,expected.json}.
"""

import base64
import datetime
import hashlib
import json
import struct
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

T0 = 1767225600  # 2026-01-01T00:00:00Z
DAY = 86400

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data), 2):
        chunk = data[i : i + 2]
        if len(chunk) == 2:
            n = chunk[0] * 256 + chunk[1]
            c, n = n % 45, n // 45
            d, e = n % 45, n // 45
            out += [B45[c], B45[d], B45[e]]
        else:
            n = chunk[0]
            out += [B45[n % 45], B45[n // 45]]
    return "".join(out)


def head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    if n < 0x100:
        return bytes([major << 5 | 24, n])
    if n < 0x10000:
        return bytes([major << 5 | 25]) + struct.pack(">H", n)
    if n < 0x100000000:
        return bytes([major << 5 | 26]) + struct.pack(">I", n)
    return bytes([major << 5 | 27]) + struct.pack(">Q", n)


def cbor(v) -> bytes:
    """Minimal deterministic CBOR: int, bytes, str, list, dict (insertion order), tag."""
    if isinstance(v, bool) or v is None:
        raise TypeError("not needed")
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        b = v.encode()
        return head(3, len(b)) + b
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        return head(5, len(v)) + b"".join(cbor(k) + cbor(x) for k, x in v.items())
    if isinstance(v, tuple) and v[0] == "tag":
        return head(6, v[1]) + cbor(v[2])
    raise TypeError(type(v))


def main() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "HCERT-style PS256 test signer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime.fromtimestamp(T0 - DAY, datetime.timezone.utc))
        .not_valid_after(datetime.datetime.fromtimestamp(T0 + 3650 * DAY, datetime.timezone.utc))
        .sign(key, hashes.SHA256())
    )
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    kid = hashlib.sha256(cert_der).digest()[:8]

    claims = {
        1: "XX",
        4: T0 + 365 * DAY,
        6: T0,
        -260: {1: {"v": [{"tg": "840539006", "dn": 1}], "nam": {"fnt": "MUSTERMANN"}, "ver": "1.3.0"}},
    }
    payload = cbor(claims)
    protected = cbor({1: -37, 4: kid})
    sig_structure = cbor(["Signature1", protected, b"", payload])
    signature = key.sign(
        sig_structure,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )
    sign1 = cbor(("tag", 18, [protected, {}, payload, signature]))
    text = "HC1:" + b45encode(zlib.compress(sign1, 9))

    numbers = key.public_key().public_numbers()

    def b64url_int(i: int) -> str:
        raw = i.to_bytes((i.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    files = {
        "ps256-hcert.payload.txt": text + "\n",
        "ps256-hcert.cert.pem": cert.public_bytes(serialization.Encoding.PEM).decode(),
        "ps256-hcert.spki.pem": key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        "ps256-hcert.jwk.json": json.dumps({"kty": "RSA", "n": b64url_int(numbers.n), "e": b64url_int(numbers.e)}, indent=2)
        + "\n",
        "ps256-hcert.expected.json": json.dumps(
            {
                "comment": "HCERT-style PS256 payload made by gen_ps256.py (Python cryptography): valid, kind unknown",
                "payload": "ps256-hcert.payload.txt",
                "cert": "ps256-hcert.cert.pem",
                "prefix": "HC1:",
                "at": T0 + DAY,
                "use": "domestic_flight",
                "verdict": {
                    "valid": True,
                    "reason": "valid",
                    "kind": "unknown",
                    "claims": {"iss": "XX", "iat": T0, "nbf": T0, "exp": T0 + 365 * DAY, "cti": "", "body": None},
                    "valid_until": T0 + 365 * DAY,
                },
            },
            indent=2,
        )
        + "\n",
    }
    for path, content in files.items():
        with open(path, "w") as f:
            f.write(content)
        print("wrote", path)


if __name__ == "__main__":
    main()
