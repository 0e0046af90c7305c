"""Running static/js/queue-line.js (the waiting page's counting rule) in Node, on frames."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

MODULE = Path(__file__).resolve().parents[2] / "static" / "js" / "queue-line.js"

SCRIPT = """
import { QueueLine } from %s;
let input = "";
for await (const chunk of process.stdin) input += chunk;
const line = new QueueLine();
for (const frame of JSON.parse(input)) {
  if (frame.type === "snapshot") line.snapshot(frame);
  else if (frame.type === "queue") line.receive(frame.changes);
}
console.log(JSON.stringify({ position: line.position, waiting: line.waiting, gap: line.hasGap() }));
"""


def page_after(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """What the waiting page shows after these frames: position, waiting count, and whether
    it knows it missed a change."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node runs the page's modules in tests: `make test` installs it (nodejs).")
    done = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT % json.dumps(MODULE.as_uri())],
        input=json.dumps(frames),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result
