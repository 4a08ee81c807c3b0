"""The journal keeps memory bounded by bytes as well as by entries (the Journal itself, no server)."""

import tracemalloc
from collections.abc import Callable
from dataclasses import replace

from yarl import URL

from mockapi.capture import CapturedRequest, parse_json_body
from mockapi.journal import Journal


def captured(path: str, header_bytes: int) -> CapturedRequest:
    # aiohttp lets a request carry up to 128 headers of 8 KiB: one entry can hold a MiB.
    headers = {f"X-H{index}": "v" * 8000 for index in range(header_bytes // 8000)}
    return CapturedRequest(method="GET", path=path, raw_path=path, raw_query="", query={}, headers=headers,
                           body="", json=None, body_size=0, body_truncated=False)


def test_big_entries_push_out_the_oldest_within_the_byte_budget() -> None:
    journal = Journal(max_entries=1000, max_bytes=1_000_000)
    for index in range(10):
        journal.record(captured(f"/big/{index}", header_bytes=300_000), stub_id=None)
    kept = [entry["path"] for entry in journal.entries()]
    assert kept == ["/big/7", "/big/8", "/big/9"]  # 3 x ~300 KB fit in 1 MB, the newest


def test_the_newest_entry_is_kept_even_alone_over_the_budget() -> None:
    journal = Journal(max_entries=1000, max_bytes=1_000)
    journal.record(captured("/small", header_bytes=0), stub_id=None)
    journal.record(captured("/huge", header_bytes=80_000), stub_id=None)
    assert [entry["path"] for entry in journal.entries()] == ["/huge"]


def test_cleared_and_count_dropped_entries_give_their_bytes_back() -> None:
    journal = Journal(max_entries=2, max_bytes=1_000_000)
    for index in range(5):  # the count limit drops three: their bytes must not stay counted
        journal.record(captured(f"/a/{index}", header_bytes=300_000), stub_id=None)
    assert journal.clear("/a/") == 2
    for index in range(3):
        journal.record(captured(f"/b/{index}", header_bytes=300_000), stub_id=None)
    assert [entry["path"] for entry in journal.entries()] == ["/b/1", "/b/2"]  # count, not bytes, limits


BUDGET = 1024 * 1024
COUNT = 16


def _held(make: Callable[[int], CapturedRequest]) -> int:
    """Bytes still traced once COUNT requests made by `make` are recorded in a journal of BUDGET bytes."""
    journal = Journal(max_entries=1000, max_bytes=BUDGET)
    tracemalloc.start()
    try:
        for index in range(COUNT):
            journal.record(make(index), stub_id=None)
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def test_parsed_json_bodies_count_as_the_memory_they_take() -> None:
    # 30 KB of `[[]],` parses to ~0.9 MiB of lists: counted by its text, 16 of them held ~14 MiB.
    body = ("[" + "[[]]," * 6_000)[:-1] + "]"

    def request(index: int) -> CapturedRequest:
        parsed, size = parse_json_body(body.encode())
        return replace(captured(f"/json/{index}", 0), body=body, json=parsed, json_bytes=size)

    held = _held(request)
    assert held < 2 * BUDGET, held


def test_parsed_queries_count_as_the_memory_they_take() -> None:
    # 8 KiB of `?0=&1=&...` (aiohttp's line limit) is ~160 KiB of keys and lists: counted by its
    # text, 16 of them held ~2.6 MiB.
    raw_query = "&".join(f"{index:x}=" for index in range(4000))[:8000]

    def request(index: int) -> CapturedRequest:
        query = URL(f"/q?{raw_query}").query
        return replace(captured(f"/q/{index}", 0), raw_query=raw_query, query={k: query.getall(k) for k in query})

    held = _held(request)
    assert held < 2 * BUDGET, held
