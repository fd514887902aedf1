#!/usr/bin/env python3
"""Throughput of pysip2 (PyPI 0.1.0) on the workload of benches/sip2_codec.rs.

Encode + decode of a checkout response (12) with AO AA AB AJ AH and the AY/AZ trailer, in
UTF-8, the same values as the Rust benchmark. Prints messages per second for encode, decode
and the pair. Run with a python that has pysip2 installed:

    python tests/interop/bench_pysip2.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import time

from pysip2 import CheckoutResponse, decode_message, encode_message

MESSAGE = CheckoutResponse(
    ok="1",
    renewal_ok="N",
    magnetic_media="N",
    desensitize="Y",
    transaction_date="20261128    101500",
    institution_id="HZLIB",
    patron_identifier="21234000012345",
    item_identifier="31234000987654",
    title_identifier="The Name of the Rose / Umberto Eco",
    due_date="20261219    235900",
)


def encode() -> bytes:
    return encode_message(MESSAGE, sequence_number=3, checksum=True, encoding="utf-8")


WIRE = encode()


def decode() -> object:
    return decode_message(WIRE, encoding="utf-8")


def both() -> object:
    return decode_message(encode(), encoding="utf-8")


def rate(fn, seconds: float) -> float:
    """Best of three runs of about `seconds`/3 each, in calls per second."""
    best = 0.0
    for _ in range(3):
        n = 0
        start = time.perf_counter()
        deadline = start + seconds / 3
        while True:
            for _ in range(1000):
                fn()
            n += 1000
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, n / (now - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    print(f"wire: {WIRE!r}")
    for name, fn in (("encode", encode), ("decode", decode), ("encode+decode", both)):
        print(f"pysip2 {name:14} {rate(fn, args.seconds):12,.0f} messages/s")


if __name__ == "__main__":
    main()
