"""A real SMTP server (aiosmtpd) for the e-mailed receipt tests: every message it receives is
written to OUT_DIR as <n>.eml, with the envelope recipients in <n>.rcpt. Prints its port on
the first line once it listens, then serves until killed.

    smtp_sink.py OUT_DIR [PORT]
"""
import asyncio
import pathlib
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out: pathlib.Path):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = self.out / str(self.count)
        # Written under a temporary name first, so a reader never sees half a message.
        tmp = stem.with_suffix(".part")
        tmp.write_bytes(envelope.original_content or envelope.content)
        stem.with_suffix(".rcpt").write_text("\n".join(envelope.rcpt_tos), encoding="utf-8")
        tmp.rename(stem.with_suffix(".eml"))
        return "250 Message accepted for delivery"


async def serve(out: pathlib.Path, port: int) -> None:
    handler = Sink(out)
    # The server is made here rather than with aiosmtpd's Controller, which cannot listen on
    # port 0 (let the system choose).
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler), host="127.0.0.1", port=port
    )
    actual = server.sockets[0].getsockname()[1]
    print(f"listening on 127.0.0.1:{actual}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    asyncio.run(serve(out, port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
