"""The floor for the call relay: a bare ``websockets`` server forwarding between two clients.

``python -m bench.call_raw_relay --port N`` accepts two WebSockets, on ``/a`` and ``/b``, and
writes every text message received on one, unchanged and unparsed, to the other: what the call
socket does for an offer, answer, candidate or state, without authentication, JSON checks, rate
limit, channel layer or Redis.
"""

from __future__ import annotations

import argparse
import asyncio

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

SIDES = {"/a": "/b", "/b": "/a"}
PEERS: dict[str, ServerConnection] = {}


async def _relay(connection: ServerConnection) -> None:
    side = connection.request.path if connection.request else ""
    if side not in SIDES:
        await connection.close(code=4404)
        return
    PEERS[side] = connection
    try:
        async for message in connection:
            other = PEERS.get(SIDES[side])
            if other is not None:
                try:
                    await other.send(message)
                except ConnectionClosed:
                    continue
    finally:
        if PEERS.get(side) is connection:
            del PEERS[side]


async def _main(port: int) -> None:
    async with serve(
        _relay, "127.0.0.1", port, compression=None, ping_interval=None, max_queue=None
    ) as server:
        print("READY", flush=True)
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.call_raw_relay")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(_main(args.port))


if __name__ == "__main__":
    main()
