"""Generated feeds for the fault suite, and a loopback server that can hold a path back.

The feeds are Atom documents of blog-like entries, each with its own link, so every entry is one pile
item and the expected pile is known exactly. `GatedServer` is the tests' `LoopbackServer` that answers a
"held" path only once the test releases it: a test can keep an ingest running (it waits for that feed)
until something else has finished, without guessing at timings.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from tests.helpers.httpserver import LoopbackServer, Response


def atom_feed(number: int, entries: int) -> str:
    """An Atom feed `number` with `entries` entries, linked https://blogN.example.org/posts/I."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>Lab notes {number}</title><id>urn:lab-notes:{number}</id>",
        "<updated>2025-03-01T00:00:00Z</updated>",
    ]
    for index in range(entries):
        day = 1 + index % 28
        summary = (
            f"Entry {index} of feed {number}. We find that warm-up matters for small transformers; the "
            f"loss flattens after step {index * 10}, and the effect {'grows' if index % 2 else 'vanishes'} "
            "with depth."
        )
        parts.append(
            f"<entry><title>{escape(f'Note {number}-{index}: warm-up, depth and sparse attention')}</title>"
            f'<link href="https://blog{number}.example.org/posts/{index}"/><id>urn:note:{number}:{index}</id>'
            f"<updated>2025-02-{day:02d}T00:00:00Z</updated><author><name>Author {index % 7}</name></author>"
            f"<summary>{escape(summary)}</summary></entry>"
        )
    parts.append("</feed>")
    return "\n".join(parts)


def write_feeds(folder: Path, feeds: int, entries: int, prefix: str = "notes") -> list[str]:
    """Write `feeds` feeds of `entries` entries each into `folder`; return their file names."""
    names = []
    for number in range(feeds):
        name = f"{prefix}-{number}.atom"
        (folder / name).write_text(atom_feed(number, entries), encoding="utf-8")
        names.append(name)
    return names


class GatedServer(LoopbackServer):
    """A LoopbackServer whose held paths wait (in the serving thread) until `release(path)`."""

    def __init__(self, root: Path | None = None):
        super().__init__(root)
        self._gates: dict[str, threading.Event] = {}

    def hold(self, path: str) -> None:
        self._gates[path] = threading.Event()

    def release(self, path: str) -> None:
        self._gates[path].set()

    def release_all(self) -> None:
        for gate in self._gates.values():
            gate.set()

    def _next_scripted(self, raw_path: str) -> Response | None:
        gate = self._gates.get(urlsplit(raw_path).path)
        if gate is not None:
            gate.wait(timeout=600)
        return super()._next_scripted(raw_path)
