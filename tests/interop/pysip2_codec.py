#!/usr/bin/env python3
"""Drive pysip2 (PyPI, MIT), an independent SIP2 2.00 codec, for interop checks.

Reads one JSON request per line on stdin and writes one JSON answer per line on stdout, so a
Rust test (tests/sip2_interop_pysip2.rs) or a CI step can compare pysip2 with our codec.
Wire bytes travel as hex so no character-set conversion happens in transit.

Requests:
  {"op": "decode", "wire_hex": "...", "encoding": "utf-8"}
      -> {"ok": true, "command_id": "12", "type": "CheckoutResponse", "fields": {...},
          "sequence": 3 | null, "checksum": "ABCD" | null,
          "reencoded_hex": "<pysip2's own encoding of what it decoded, same trailer>"}
      -> {"ok": false, "error": "..."}  when pysip2 rejects the frame
  {"op": "samples", "encoding": "utf-8"}
      -> {"ok": true, "samples": [{"command_id", "type", "fields", "sequence",
                                   "wire_hex"}, ...]}
         every message type pysip2 has, with every field filled, once without and once with
         error detection, built and encoded by pysip2 alone.

Exit status is 0 unless stdin is not JSON; per-request failures are reported in the answer.
"""

from __future__ import annotations

import json
import sys
import typing

import msgspec

from pysip2 import SIP2Error, decode_message, encode_message
from pysip2.models import MESSAGE_SPECS_BY_ID, spec_for_type

# Text that each charset can carry, so samples exercise non-ASCII bytes.
TEXT_SUFFIX = {
    "utf-8": "Müller 中文",
    "cp850": "Müller çà",
    "gb18030": "红楼梦 é",
    "iso-8859-1": "Müller çà",
    "latin-1": "Müller çà",
}

# Values for fixed-format fields, by the regular expression pysip2 validates them with.
BY_PATTERN = {
    "^[01]$": lambda i: "1" if i % 2 else "0",
    "^[YN]$": lambda i: "Y" if i % 2 else "N",
    "^[YNU]$": lambda i: "YNU"[i % 3],
    "^[0-2]$": lambda i: "1",
    "^[+*-]$": lambda i: "*",
    "^[1-9]$": lambda i: "3",
    "^[0-9]$": lambda i: "5",
    "^[0-9]{2}$": lambda i: "04",
    "^[0-9]{3}$": lambda i: "001",
    "^[0-9]{4}$": lambda i: "0007",
    "^(?:[0-9]{4}| {4})$": lambda i: "    " if i % 5 == 0 else f"{i:04d}",
    "^[Y ]{14}$": lambda i: "Y  Y        Y ",
    "^[0-9]{8}[A-Z ]{4}[0-9]{6}$": lambda i: "20261128    101500"
    if i % 2
    else "20261219   Z235900",
    "^[0-9]\\.[0-9]{2}$": lambda i: "2.00",
    "^[Y ]{10}$": lambda i: "  Y       ",
    "^[YN]{16}$": lambda i: "YYYYNNYYYYNNYYNY",
    "^[A-Z]{3}$": lambda i: "EUR",
    "CHAR1": lambda i: "0",
}

# Free-text fields that we (rightly) type as numbers: give them digits.
NUMERIC_TEXT = {"hold_queue_length", "queue_position", "start_item", "end_item"}


def _pattern(annotation: object) -> str | None:
    """The msgspec.Meta pattern of a (possibly Optional) Annotated[str, Meta] type."""
    for arg in typing.get_args(annotation) or ():
        if isinstance(arg, msgspec.Meta):
            if arg.pattern:
                return arg.pattern
            if arg.max_length == 1:
                return "CHAR1"
        found = _pattern(arg)
        if found:
            return found
    return None


def _is_repeatable(annotation: object) -> bool:
    return typing.get_origin(annotation) is tuple


def sample_fields(command_id: str, encoding: str) -> dict[str, object]:
    spec = MESSAGE_SPECS_BY_ID[command_id]
    suffix = TEXT_SUFFIX[encoding]
    values: dict[str, object] = {}
    for i, field in enumerate(msgspec.structs.fields(spec.struct_type), start=1):
        pattern = _pattern(field.type)
        if pattern is not None:
            values[field.name] = BY_PATTERN[pattern](i)
        elif field.name in NUMERIC_TEXT:
            values[field.name] = str(i)
        elif _is_repeatable(field.type):
            values[field.name] = (f"{field.name} 1 {suffix}", f"{field.name} 2")
        else:
            values[field.name] = f"{field.name} {suffix}"
    return values


def _fields_of(message: msgspec.Struct) -> dict[str, object]:
    return msgspec.to_builtins(message)


def op_decode(request: dict) -> dict:
    encoding = request.get("encoding", "utf-8")
    frame = bytes.fromhex(request["wire_hex"])
    try:
        decoded = decode_message(frame, encoding=encoding)
        message = decoded.message
        command_id = spec_for_type(type(message)).command_id
        reencoded = encode_message(
            message,
            sequence_number=decoded.sequence_number,
            checksum=decoded.checksum is not None,
            encoding=encoding,
        )
    except (SIP2Error, UnicodeError, ValueError) as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "ok": True,
        "command_id": command_id,
        "type": type(message).__name__,
        "fields": _fields_of(message),
        "sequence": decoded.sequence_number,
        "checksum": decoded.checksum,
        "reencoded_hex": reencoded.hex(),
    }


def op_samples(request: dict) -> dict:
    encoding = request.get("encoding", "utf-8")
    samples = []
    for n, (command_id, spec) in enumerate(sorted(MESSAGE_SPECS_BY_ID.items())):
        fields = sample_fields(command_id, encoding)
        message = msgspec.convert(fields, type=spec.struct_type, strict=True)
        for sequence in (None, n % 10):
            wire = encode_message(
                message,
                sequence_number=sequence,
                checksum=sequence is not None,
                encoding=encoding,
            )
            samples.append(
                {
                    "command_id": command_id,
                    "type": spec.struct_type.__name__,
                    "fields": _fields_of(message),
                    "sequence": sequence if command_id not in ("96", "97") else None,
                    "wire_hex": wire.hex(),
                }
            )
    return {"ok": True, "samples": samples}


OPS = {"decode": op_decode, "samples": op_samples}


def main() -> int:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        request = json.loads(line)
        op = OPS.get(request.get("op"))
        if op is None:
            answer = {"ok": False, "error": f"unknown op {request.get('op')!r}"}
        else:
            try:
                answer = op(request)
            except Exception as exc:  # report, keep serving: one bad request is one failure
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
