"""The floor for fan-out: a bare ``websockets`` server broadcasting one pre-encoded frame.

``python -m bench.rawserver --port N`` accepts any WebSocket and, every ``--interval`` seconds,
writes one frame (encoded once, about the size of the app's coalesced queue frame) to every
open connection with ``websockets.broadcast``. Each frame carries a broadcast number ``key`` and
the time ``sent`` just before the first write.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from websockets.asyncio.server import ServerConnection, broadcast, serve

from bench.environment import raise_open_files_limit

CONNECTIONS: set[ServerConnection] = set()


async def _handler(connection: ServerConnection) -> None:
    CONNECTIONS.add(connection)
    try:
        await connection.wait_closed()
    finally:
        CONNECTIONS.discard(connection)


async def _broadcast_forever(interval: float, changes: int) -> None:
    key = 0
    filler = [["-", 0, 20_261_125_000_000 + n] for n in range(changes)]
    next_at = time.monotonic() + interval
    while True:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at += interval
        key += 1
        sent = time.time()
        frame = json.dumps({"type": "queue", "changes": filler, "key": key, "sent": sent})
        broadcast(CONNECTIONS, frame)


async def _main(port: int, interval: float, changes: int) -> None:
    async with serve(
        _handler, "127.0.0.1", port, compression=None, ping_interval=None, max_queue=None
    ):
        print("READY", flush=True)  # the parent waits for this line
        await _broadcast_forever(interval, changes)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rawserver")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--changes", type=int, default=10)
    args = parser.parse_args()
    raise_open_files_limit()
    asyncio.run(_main(args.port, args.interval, args.changes))


if __name__ == "__main__":
    main()
