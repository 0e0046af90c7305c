"""Daphne for ``bench.call``, optionally with a what-if patch applied first.

``python -m bench.call_daphne [--what-if NAME]... -- <daphne arguments>``

What-ifs measure a change to the application before anyone makes it:

- ``no-dispatch-hop``: Channels (4.2+) hops to the one shared sync thread before *every*
  consumer event to close stale database connections (``aclose_old_connections`` in
  ``AsyncConsumer.dispatch``). The call consumer reaches the database only through
  ``database_sync_to_async`` helpers, which close stale connections themselves, so for it the
  hop is pure cost: two per relayed message (the sender's receive, the receiver's group event),
  queued behind any database work of every other socket in the process.
- ``side-groups``: the call consumer relays to the room's group, which holds both sides, so
  every relayed message also comes back to its sender's consumer (a Redis delivery, a dispatch
  and a hop, to be dropped by ``call_relay``). Here each socket also joins a group of its own
  side (before it is accepted) and ``_to_peer`` sends to the other side's group only; chat and
  the room's closing still go to the room's group.
"""

from __future__ import annotations

import sys
from typing import Any


def _no_dispatch_hop() -> None:
    import channels.consumer  # noqa: PLC0415

    async def nothing_to_close() -> None:
        return None

    channels.consumer.aclose_old_connections = nothing_to_close


def _side_groups() -> None:
    from video.consumers import CallConsumer  # noqa: PLC0415

    def side_group(consumer: Any, side: str) -> str:
        return f"{consumer.group}.{side}"

    accept, disconnect = CallConsumer.accept, CallConsumer.disconnect

    async def accept_on_own_side(self: Any, *args: Any, **kwargs: Any) -> None:
        if self.access is not None and self.group:
            await self.channel_layer.group_add(
                side_group(self, self.access.side), self.channel_name
            )
        await accept(self, *args, **kwargs)

    async def leave_own_side(self: Any, code: int) -> None:
        if self.access is not None and self.group:
            await self.channel_layer.group_discard(
                side_group(self, self.access.side), self.channel_name
            )
        await disconnect(self, code)

    async def to_other_side(self: Any, payload: dict[str, Any]) -> None:
        other = "doctor" if self.access.side == "patient" else "patient"
        await self.channel_layer.group_send(
            side_group(self, other),
            {"type": "call.relay", "to": [(other, self.peer_join)], "payload": payload},
        )

    CallConsumer.accept = accept_on_own_side  # type: ignore[method-assign]
    CallConsumer.disconnect = leave_own_side  # type: ignore[method-assign]
    CallConsumer._to_peer = to_other_side  # type: ignore[method-assign]


WHAT_IFS = {"no-dispatch-hop": _no_dispatch_hop, "side-groups": _side_groups}


def main() -> None:
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    ours, daphne_args = argv[:split], argv[split + 1 :]
    names = [ours[i + 1] for i, arg in enumerate(ours) if arg == "--what-if"]
    if names:
        import django  # noqa: PLC0415 - the consumers need the app registry

        django.setup()
    for name in names:
        WHAT_IFS[name]()
    from daphne.cli import CommandLineInterface  # noqa: PLC0415

    CommandLineInterface().run(daphne_args)


if __name__ == "__main__":
    main()
