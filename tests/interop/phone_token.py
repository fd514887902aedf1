#!/usr/bin/env python3
"""A second implementation of the phone token format, written from docs/phone-token.md alone.

    phone_token.py issue --key FILE --patron ID [--kid KID] [--issuer ISS] [--iat N]
                         [--ttl SECS] [--cti HEX]
        prints one token (the kid defaults to the key file's name without .key)
    phone_token.py check --public-key KEY --kid KID [--issuer ISS] [--now N]
                         [--max-ttl SECS] [--skew SECS] TOKEN
        prints a JSON verdict; exit status 0 when accepted, 1 when refused

Uses cbor2 and cryptography (PyPI) and nothing of selfcheck's.
"""

import argparse
import base64
import json
import os
import sys
import time
from collections.abc import Mapping

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)

PREFIX = "SC1:"
MAX_LEN = 311
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
COSE_SIGN1_TAG = 18
EDDSA = -8
ISS, SUB, EXP, IAT, CTI, NBF = 1, 2, 4, 6, 7, 5


def b45encode(data: bytes) -> str:
    out = []
    for i in range(0, len(data), 2):
        chunk = data[i : i + 2]
        if len(chunk) == 2:
            n = chunk[0] * 256 + chunk[1]
            c, n = n % 45, n // 45
            d, e = n % 45, n // 45
            out += [ALPHABET[c], ALPHABET[d], ALPHABET[e]]
        else:
            c, d = chunk[0] % 45, chunk[0] // 45
            out += [ALPHABET[c], ALPHABET[d]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    values = [ALPHABET.index(ch) for ch in text]  # ValueError on a foreign character
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i : i + 3]
        if len(group) == 3:
            n = group[0] + group[1] * 45 + group[2] * 45 * 45
            if n > 0xFFFF:
                raise ValueError("base45 group above 65535")
            out += n.to_bytes(2, "big")
        elif len(group) == 2:
            n = group[0] + group[1] * 45
            if n > 0xFF:
                raise ValueError("base45 pair above 255")
            out.append(n)
        else:
            raise ValueError("base45 text of length 3k+1")
    return bytes(out)


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def issue(key: Ed25519PrivateKey, kid: str, issuer: str, patron: str, iat: int, exp: int, cti: bytes) -> str:
    protected = cbor2.dumps({1: EDDSA, 4: kid.encode()})
    payload = cbor2.dumps({ISS: issuer, SUB: patron, EXP: exp, IAT: iat, CTI: cti})
    signature = key.sign(sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + b45encode(cose)


class Refused(Exception):
    def __init__(self, code, detail):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def check(text, public_key, kid, issuer, now, max_ttl, skew):
    text = text.strip()
    if len(text) > MAX_LEN:
        raise Refused("oversized", f"{len(text)} characters")
    if text[:4].upper() != PREFIX:
        raise Refused("bad_prefix", "no SC1: prefix")
    body = text[4:].upper()
    try:
        cose_bytes = b45decode(body)
    except ValueError as e:
        raise Refused("malformed", str(e))
    try:
        item = cbor2.loads(cose_bytes)
    except Exception as e:  # cbor2 raises several types on bad or short input
        raise Refused("malformed", f"CBOR: {e}")
    if isinstance(item, cbor2.CBORTag):
        if item.tag != COSE_SIGN1_TAG:
            raise Refused("malformed", f"tag {item.tag}")
        item = item.value
    # cbor2 reads arrays and maps inside a tag as tuples and frozen dicts.
    if not (isinstance(item, (list, tuple)) and len(item) == 4):
        raise Refused("malformed", "not a 4-element COSE_Sign1")
    protected, unprotected, payload, signature = item
    if not (isinstance(protected, bytes) and isinstance(unprotected, Mapping)
            and isinstance(payload, bytes) and isinstance(signature, bytes)):
        raise Refused("malformed", "COSE_Sign1 element types")
    header = cbor2.loads(protected) if protected else {}
    if not isinstance(header, Mapping) or 2 in header:
        raise Refused("malformed", "protected header")
    if header.get(1) != EDDSA:
        raise Refused("wrong_algorithm", f"alg {header.get(1)!r}")
    token_kid = header.get(4)
    if not isinstance(token_kid, bytes) or not token_kid:
        raise Refused("malformed", "no kid")
    if token_kid != kid.encode():
        raise Refused("unknown_key", token_kid.decode("utf-8", "replace"))
    try:
        public_key.verify(signature, sig_structure(protected, payload))
    except InvalidSignature:
        raise Refused("bad_signature", "Ed25519")
    claims = cbor2.loads(payload)
    if not isinstance(claims, Mapping):
        raise Refused("malformed", "claims are not a map")
    sub, iat, exp, cti = claims.get(SUB), claims.get(IAT), claims.get(EXP), claims.get(CTI)
    if not (isinstance(sub, str) and sub.strip() and type(iat) is int and type(exp) is int
            and isinstance(cti, bytes) and 8 <= len(cti) <= 32) or exp <= iat:
        raise Refused("malformed", "claims")
    if claims.get(ISS) != issuer:
        raise Refused("wrong_issuer", repr(claims.get(ISS)))
    if exp - iat > max_ttl:
        raise Refused("lifetime_too_long", f"{exp - iat} s")
    valid_from = max(iat, claims.get(NBF, iat))
    if now + skew < valid_from:
        raise Refused("not_yet_valid", f"valid from {valid_from}")
    if now >= exp + skew:
        raise Refused("expired", f"expired at {exp}")
    canonical = issue_bytes_match(protected, payload, signature, cose_bytes)
    return {"sub": sub, "iat": iat, "exp": exp, "cti": cti.hex(),
            "kid": token_kid.decode(), "canonical": canonical}


def issue_bytes_match(protected, payload, signature, cose_bytes):
    """Whether the token is byte for byte what the spec says an issuer writes."""
    expected = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return expected == cose_bytes


def load_public_key(text):
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return load_pem_public_key(text.encode())
    raw = base64.b64decode(text + "=" * (-len(text) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p_issue = sub.add_parser("issue")
    p_issue.add_argument("--key", required=True)
    p_issue.add_argument("--patron", required=True)
    p_issue.add_argument("--kid")
    p_issue.add_argument("--issuer", default="selfcheck")
    p_issue.add_argument("--iat", type=int)
    p_issue.add_argument("--ttl", type=int, default=60)
    p_issue.add_argument("--cti")
    p_check = sub.add_parser("check")
    p_check.add_argument("--public-key", required=True)
    p_check.add_argument("--kid", required=True)
    p_check.add_argument("--issuer", default="selfcheck")
    p_check.add_argument("--now", type=int)
    p_check.add_argument("--max-ttl", type=int, default=120)
    p_check.add_argument("--skew", type=int, default=120)
    p_check.add_argument("token")
    args = parser.parse_args()

    if args.command == "issue":
        with open(args.key, "rb") as f:
            key = load_pem_private_key(f.read(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            sys.exit("not an Ed25519 key")
        kid = args.kid or os.path.basename(args.key).removesuffix(".key")
        iat = int(time.time()) if args.iat is None else args.iat
        cti = bytes.fromhex(args.cti) if args.cti else os.urandom(16)
        print(issue(key, kid, args.issuer, args.patron, iat, iat + args.ttl, cti))
        return 0

    now = int(time.time()) if args.now is None else args.now
    try:
        verdict = check(args.token, load_public_key(args.public_key), args.kid, args.issuer,
                        now, args.max_ttl, args.skew)
    except Refused as r:
        print(json.dumps({"accepted": False, "code": r.code, "detail": r.detail}))
        return 1
    print(json.dumps({"accepted": True, **verdict}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
