"""A misbehaving SIP2 server built on pysip2 0.1.0, for testing our client's recovery.

Usage: fault_server.py MODE [PORT]

Listens on 127.0.0.1 (port 0 by default: the system picks one), prints the bound port on the
first line of stdout, and serves until killed. Login (93) always succeeds and SC status (99)
is answered normally unless the mode says otherwise; patron status (23) and checkout (11) get
the faulty treatment:

  bad-checksum-once  the first answer to a request carries a wrong AZ; a 97 gets the good one
  96-storm           every request after login is answered with 96 (resend your request)
  slow               answers come 5 s late
  truncated          half an answer, then the connection is closed
  drop-after-login   the connection is closed right after the login answer
  ignore-no-block    checkout ignores no block and the nb due date, and gives its own due date
  reordered          fields in an unusual order, unknown fields, lower-case hex, CRLF ending
"""

from __future__ import annotations

import sys

import anyio
from pysip2 import (
    CHECKOUT,
    LOGIN,
    PATRON_STATUS,
    CheckoutResponse,
    LoginResponse,
    PatronStatusResponse,
    SIP2Server,
    calculate_checksum,
    encode_message,
)
from pysip2.models import ACSStatusResponse

MODES = {
    "bad-checksum-once",
    "96-storm",
    "slow",
    "truncated",
    "drop-after-login",
    "ignore-no-block",
    "reordered",
}

SERVER_DUE = "20261212    235959"


def reordered_patron_status(sequence: int | None, now: str) -> bytes:
    body = (
        "24" + " " * 14 + "001" + now
        + "BLY|ZZsomething vendor-specific|AEAda Lovelace|XY|AA21000000000012|BHEUR|AOFAKE|"
    )
    if sequence is None:
        return (body + "\r\n").encode("utf-8")
    body += f"AY{sequence}AZ"
    return (body + calculate_checksum(body.encode("utf-8")).lower() + "\r\n").encode("utf-8")


def _tolerate_blank_nb_due_date() -> None:
    """pysip2 0.1.0 refuses an 18-space nb due date in 11 and 29, which the spec allows (it only
    matters with no block = Y). Before pysip2 decodes such a request, stand the transaction date
    in for it and re-checksum, so the fault modes below can be reached by a standard client."""
    import pysip2.server as server_module

    original = server_module.decode_message

    def decode(frame: bytes, **kwargs):
        if frame[:2] in (b"11", b"29") and frame[22:40] == b" " * 18:
            frame = frame[:22] + frame[4:22] + frame[40:]
            body = frame.rstrip(b"\r\n")
            az = body.rfind(b"AZ")
            if az != -1 and len(body) - az == 6:
                head = body[: az + 2]
                frame = head + calculate_checksum(head).encode("ascii") + b"\r"
        return original(frame, **kwargs)

    server_module.decode_message = decode


_tolerate_blank_nb_due_date()


class FaultServer(SIP2Server):
    def __init__(self, mode: str) -> None:
        # A 1 s timeout period in 98, so that "slow" (5 s) is past every wait of the client.
        super().__init__(
            encoding="utf-8", login_required=False, institution_id="FAKE", timeout_period="010"
        )
        self.mode = mode
        self.corrupted_once = False

    async def _dispatch(self, stream, state, decoded) -> None:
        name = type(decoded.message).__name__
        is_session = name in ("LoginRequest", "SCStatusRequest", "RequestACSResend")
        if self.mode == "96-storm" and not is_session:
            await self._send_96(stream, state)
            return
        await super()._dispatch(stream, state, decoded)

    async def _write_response(self, stream, state, decoded, response) -> None:
        checksummed = decoded.checksum is not None
        sequence = decoded.sequence_number if checksummed else None
        frame = encode_message(
            response,
            sequence_number=sequence,
            checksum=checksummed,
            encoding=self.encoding,
        )
        if isinstance(response, LoginResponse):
            await self._send(stream, state, frame)
            if self.mode == "drop-after-login":
                await stream.aclose()
            return
        if isinstance(response, ACSStatusResponse):
            await self._send(stream, state, frame)
            return
        if self.mode == "bad-checksum-once" and checksummed and not self.corrupted_once:
            self.corrupted_once = True
            bad = frame[:-2] + (b"1" if frame[-2:-1] == b"0" else b"0") + b"\r"
            await stream.send(bad)
            # A 97 gets the good frame.
            state.last_response = frame
            return
        if self.mode == "slow":
            await anyio.sleep(5)
        if self.mode == "truncated":
            await stream.send(frame[: len(frame) // 2])
            await stream.aclose()
            return
        if self.mode == "reordered" and isinstance(response, PatronStatusResponse):
            frame = reordered_patron_status(sequence, response.transaction_date)
        await self._send(stream, state, frame)


def build(mode: str) -> FaultServer:
    server = FaultServer(mode)

    @server.route(LOGIN)
    def login(req, ctx):
        return LoginResponse(ok="1")

    @server.route(PATRON_STATUS)
    def patron_status(req, ctx):
        return PatronStatusResponse(
            patron_status=" " * 14,
            language="001",
            transaction_date=ctx.now_18(),
            institution_id=req.institution_id,
            patron_identifier=req.patron_identifier,
            personal_name="Ada Lovelace",
            valid_patron="Y",
        )

    @server.route(CHECKOUT)
    def checkout(req, ctx):
        # A server that ignores no block: its own due date, whatever the terminal asked.
        return CheckoutResponse(
            ok="1",
            renewal_ok="N",
            magnetic_media="N",
            desensitize="Y",
            transaction_date=ctx.now_18(),
            institution_id=req.institution_id,
            patron_identifier=req.patron_identifier,
            item_identifier=req.item_identifier,
            title_identifier="Il nome della rosa",
            due_date=SERVER_DUE,
        )

    return server


async def main(mode: str, port: int) -> None:
    server = build(mode)
    async with server.start("127.0.0.1", port) as bound:
        print(bound, flush=True)
        await anyio.sleep_forever()


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in MODES:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        anyio.run(main, sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    except KeyboardInterrupt:
        pass
