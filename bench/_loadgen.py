"""A lean HTTP/1.1 load generator for throughput comparisons: keep-alive connections on asyncio
streams, GET only, Content-Length or chunked bodies read and dropped. Far cheaper per request than
httpx, so that it measures the server rather than itself (it still shares the machine's CPUs with
the server: `bench_pages.py` says so next to its figures).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Counts:
    ok: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: str) -> int:
        """GET `path` (with extra header lines `headers`), read the whole answer; its status."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{headers}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked, close = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if chunked:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await self.reader.readexactly(length)
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None


async def loop(host: str, port: int, paths: list[str], headers: str, until: float, counts: Counts,
               timeout: float = 30.0) -> None:
    """Request `paths` in turn, over and over, on one keep-alive connection until `until`."""
    connection, n = Connection(host, port), 0
    try:
        while time.monotonic() < until:
            path = paths[n % len(paths)]
            n += 1
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(connection.get(path, headers), timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                counts.errors += 1
                counts.statuses[0] = counts.statuses.get(0, 0) + 1
                await connection.close()
                continue
            counts.latencies_ms.append((time.perf_counter() - started) * 1000)
            counts.statuses[status] = counts.statuses.get(status, 0) + 1
            if status < 400:
                counts.ok += 1
            else:
                counts.errors += 1
    finally:
        await connection.close()


async def run(host: str, port: int, users: list[tuple[list[str], str]], seconds: float, warmup: float = 1.0) -> tuple[Counts, float]:
    """One connection per (paths, headers) of `users`, all at once: `warmup` seconds, then `seconds`
    counted; the counts and the time they took."""
    await asyncio.gather(*(loop(host, port, paths, headers, time.monotonic() + warmup, Counts())
                           for paths, headers in users))
    counts = Counts()
    started = time.monotonic()
    await asyncio.gather(*(loop(host, port, paths, headers, started + seconds, counts) for paths, headers in users))
    return counts, time.monotonic() - started
