#!/usr/bin/env python3
"""Generates the PS256 and ES384 test vectors with an implementation independent of ours.

`ring` cannot generate RSA keys, and we never sign with PS256; ES384 we sign with `ring` too,
so a check against our own signer would prove little. These HCERT-style payloads (prefix HC1:,
kid only in the protected header, claims 1/4/6 and the HCERT claim -260, no exitentry body) are
made once with Python `cryptography` and kept in the repository.

Run from this directory: python3 gen_independent.py ps256|es384   (needs `cryptography`)
Writes ALG-hcert.{payload.txt,cert.pem,spki.pem,jwk.json,expected.json}; for ES384 also the
certificate as DER, and its PEM wrapped at 76 columns (as some tools write it).
"""

import base64
import datetime
import hashlib
import json
import struct
import sys
import zlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
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


def b64url_int(i: int, size: int = 0) -> str:
    raw = i.to_bytes(size or (i.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Ps256:
    name, cose_alg, cert_hash = "ps256", -37, hashes.SHA256()

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())

    def jwk(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {"kty": "RSA", "n": b64url_int(numbers.n), "e": b64url_int(numbers.e)}


class Es384:
    name, cose_alg, cert_hash = "es384", -35, hashes.SHA384()

    def __init__(self):
        self.key = ec.generate_private_key(ec.SECP384R1())

    def sign(self, data: bytes) -> bytes:
        """COSE wants r‖s, 48 bytes each, not the DER that `cryptography` returns."""
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA384())))
        return r.to_bytes(48, "big") + s.to_bytes(48, "big")

    def jwk(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {"kty": "EC", "crv": "P-384", "x": b64url_int(numbers.x, 48), "y": b64url_int(numbers.y, 48)}


def pem_at(der: bytes, label: str, width: int) -> str:
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + width] for i in range(0, len(b64), width)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def main(signer) -> None:
    key = signer.key
    alg = signer.name.upper()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"HCERT-style {alg} test signer")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime.fromtimestamp(T0 - DAY, datetime.timezone.utc))
        .not_valid_after(datetime.datetime.fromtimestamp(T0 + 3650 * DAY, datetime.timezone.utc))
        .sign(key, signer.cert_hash)
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
    protected = cbor({1: signer.cose_alg, 4: kid})
    sig_structure = cbor(["Signature1", protected, b"", payload])
    signature = signer.sign(sig_structure)
    sign1 = cbor(("tag", 18, [protected, {}, payload, signature]))
    text = "HC1:" + b45encode(zlib.compress(sign1, 9))
    stem = f"{signer.name}-hcert"
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    if signer.name == "es384":
        cert_pem = pem_at(cert_der, "CERTIFICATE", 76)
        with open(f"{stem}.cert.der", "wb") as f:
            f.write(cert_der)
        print("wrote", f"{stem}.cert.der")

    files = {
        f"{stem}.payload.txt": text + "\n",
        f"{stem}.cert.pem": cert_pem,
        f"{stem}.spki.pem": key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        f"{stem}.jwk.json": json.dumps(signer.jwk(), indent=2) + "\n",
        f"{stem}.expected.json": json.dumps(
            {
                "comment": f"HCERT-style {alg} payload made by {GENERATOR} (Python cryptography): valid, kind unknown",
                "payload": f"{stem}.payload.txt",
                "cert": f"{stem}.cert.pem",
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


GENERATOR = "gen_independent.py"

if __name__ == "__main__":
    choice = sys.argv[1] if len(sys.argv) > 1 else ""
    signers = {"ps256": Ps256, "es384": Es384}
    if choice not in signers:
        sys.exit("usage: gen_independent.py ps256|es384")
    main(signers[choice]())
