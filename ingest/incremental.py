"""Parse only what changed: a feed that gained two items is not parsed whole again.

Most changed feeds differ from their last version by a few items at the top. :func:`split`
cuts a well-behaved RSS/Atom document into its prolog (everything before the first
``<item>``/``<entry>``), the item blocks, and the epilog; :func:`reduce` rebuilds the document
with only the blocks not seen in the last successful parse, for feedparser to read. Anything
unusual — UTF-16/32, prefixed or nested item elements, CDATA or comments between items, text
between blocks, a count of opening tags that does not match the blocks — and :func:`split`
returns None: the caller parses the whole document as usual. Pure, no I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass

_START = re.compile(rb"<(item|entry)(?=[\s>])[^>]*>")
_END_TAIL = re.compile(rb"\s*>")
_OPENING = re.compile(rb"<(?:item|entry)(?=[\s>/])")
_CLOSING = re.compile(rb"</(?:item|entry)\s*>")
_GAP = re.compile(rb"\s*")


@dataclass(frozen=True)
class Split:
    """A document cut into prolog, item blocks and epilog (``prolog + blocks + epilog`` with
    the original whitespace between blocks dropped)."""

    prolog: bytes
    blocks: tuple[bytes, ...]
    epilog: bytes

    def digests(self) -> frozenset[str]:
        return frozenset(block_digest(b) for b in self.blocks)


def block_digest(block: bytes) -> str:
    return hashlib.blake2b(block, digest_size=12).hexdigest()


def split(body: bytes) -> Split | None:
    """The document's item blocks, or None when it is not safe to cut."""
    if b"\x00" in body[:1024]:
        return None
    matches = _blocks(body)
    if not matches or len(_OPENING.findall(body)) != len(matches):
        return None
    if len(_CLOSING.findall(body)) != len(matches):
        return None
    if len({tag for tag, _, _ in matches}) != 1:
        return None
    blocks = []
    for i, (_, start, end) in enumerate(matches):
        block = body[start:end]
        if block.count(b"<![CDATA[") != block.count(b"]]>"):
            return None
        if i and not _GAP.fullmatch(body, matches[i - 1][2], start):
            return None
        blocks.append(block)
    return Split(body[: matches[0][1]], tuple(blocks), body[matches[-1][2] :])


def _blocks(body: bytes) -> list[tuple[bytes, int, int]]:
    """``(tag, start, end)`` of each ``<item ...>...</item>`` (or entry) block: what
    ``re.finditer(rb"<(item|entry)(?=[\\s>])[^>]*>.*?</\\1\\s*>", body, re.DOTALL)`` finds,
    with the lazy scan for the closing tag done by ``bytes.find`` (ten times faster)."""
    found: list[tuple[bytes, int, int]] = []
    pos = 0
    while (opening := _START.search(body, pos)) is not None:
        tag = opening.group(1)
        end = _closing(body, b"</" + tag, opening.end())
        if end is None:
            pos = opening.start() + 1
            continue
        found.append((tag, opening.start(), end))
        pos = end
    return found


def _closing(body: bytes, close: bytes, pos: int) -> int | None:
    """The end of the first ``close`` + optional whitespace + ``>`` at or after ``pos``."""
    while (at := body.find(close, pos)) >= 0:
        tail = _END_TAIL.match(body, at + len(close))
        if tail is not None:
            return tail.end()
        pos = at + 1
    return None


def reduce(parts: Split, known: Collection[str]) -> tuple[bytes, int]:
    """The document with only the blocks whose digest is not in ``known``, and how many
    blocks were dropped."""
    fresh = [b for b in parts.blocks if block_digest(b) not in known]
    return parts.prolog + b"\n".join(fresh) + parts.epilog, len(parts.blocks) - len(fresh)
