"""Waiting-room workflows. Entry points (API, pages, sockets, timers) call these; they hold the
rules and leave messages to ``queues.broadcast`` after commit."""
