"""A TCP proxy between workers and a real PostgreSQL that produces the faults of a real network.

It speaks just enough of the PostgreSQL wire protocol to see messages (a type byte and a length)
and to recognise a `COMMIT`. Faults, each drawn from one seeded generator:
- **in-doubt commits**: forward a COMMIT, let the server commit and answer, drop the answer and
  cut the connection. The write landed; the client never learns it (a PgBouncer restart or a
  failover does the same);
- **cuts**: close a connection before forwarding a random client message;
- **latency**: a delay before each client message that ends a round trip.

SSL is declined (`N`), so the messages stay readable; clients fall back to plain TCP as libpq's
default `sslmode=prefer` allows. Used by the engine's fault tests and `python -m spacehpo.bench.chaos`.
"""

from __future__ import annotations

import asyncio
import random
import struct
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

SSL_REQUEST, GSS_REQUEST = 80877103, 80877104
ROUND_TRIP_ENDS = (b"Q", b"S")  # a simple query, or the Sync closing an extended query


@dataclass(frozen=True)
class Faults:
    commit_cut: float = 0.0  # share of COMMITs whose answer is dropped after the server commits
    message_cut: float = 0.0  # share of client messages before which the connection is cut
    latency_s: tuple[float, float] = (0.0, 0.0)  # uniform delay per round trip

    def __post_init__(self) -> None:
        for name in ("commit_cut", "message_cut"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1")
        low, high = self.latency_s
        if not 0.0 <= low <= high:
            raise ValueError("latency_s must be (low, high) with 0 <= low <= high")


@dataclass
class Counts:
    """What the proxy did; read them after the run to show the faults really happened."""

    connections: int = 0
    commits: int = 0
    commits_cut: int = 0  # in-doubt commits: committed by the server, never answered
    messages_cut: int = 0


@dataclass
class _Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    drop_until_ready: bool = False  # a COMMIT whose answer is to be dropped is in flight
    closed: bool = False

    def cut(self) -> None:
        self.closed = True
        for writer in (self.client, self.server):
            writer.transport.abort()


@dataclass
class FaultProxy:
    """Runs on its own thread and event loop; `start()` returns the port it listens on."""

    faults: Faults = field(default_factory=Faults)
    upstream: tuple[str, int] = ("127.0.0.1", 5432)
    seed: int = 0
    counts: Counts = field(default_factory=Counts)
    port: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._cut_next = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)

    def start(self) -> int:
        self._thread.start()
        self._ready.wait(10)
        return self.port

    def stop(self) -> None:
        """Every connection is cut and every task ends before the loop closes."""
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        self._server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def cut_next_commits(self, n: int = 1) -> None:
        """Make the next `n` COMMITs in doubt, whatever the rates say: for tests of one write."""
        self._cut_next += n

    def url(self, url: str) -> str:
        """`url` with its host and port replaced by the proxy's."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials + '@' if credentials else ''}127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        try:
            sreader, swriter = await asyncio.open_connection(*self.upstream)
        except OSError:
            cwriter.transport.abort()
            return
        self.counts.connections += 1
        link = _Link(cwriter, swriter)
        try:
            await self._startup(creader, link)
            await asyncio.gather(self._upstream(creader, link), self._downstream(sreader, link))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            link.cut()

    async def _startup(self, creader: asyncio.StreamReader, link: _Link) -> None:
        """Untyped messages: decline SSL and GSS encryption, then forward the startup message."""
        while True:
            head = await creader.readexactly(8)
            length, code = struct.unpack("!ii", head)
            rest = await creader.readexactly(length - 8)
            if code in (SSL_REQUEST, GSS_REQUEST):
                link.client.write(b"N")
                await link.client.drain()
                continue
            link.server.write(head + rest)
            await link.server.drain()
            return

    async def _upstream(self, creader: asyncio.StreamReader, link: _Link) -> None:
        while not link.closed:
            kind, message = await _read_message(creader)
            if kind in ROUND_TRIP_ENDS and self.faults.latency_s[1] > 0:
                await asyncio.sleep(self._rng.uniform(*self.faults.latency_s))
            if self._rng.random() < self.faults.message_cut:
                self.counts.messages_cut += 1
                link.cut()
                return
            if kind == b"Q" and _is_commit(message):
                self.counts.commits += 1
                if self._cut_next or self._rng.random() < self.faults.commit_cut:
                    self._cut_next = max(0, self._cut_next - 1)
                    link.drop_until_ready = True
            link.server.write(message)
            await link.server.drain()

    async def _downstream(self, sreader: asyncio.StreamReader, link: _Link) -> None:
        while not link.closed:
            kind, message = await _read_message(sreader)
            if link.drop_until_ready:
                if kind == b"Z":  # the server has committed and is ready: the client never knows
                    self.counts.commits_cut += 1
                    link.cut()
                    return
                continue
            link.client.write(message)
            await link.client.drain()


async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readexactly(5)
    (length,) = struct.unpack("!i", head[1:])
    return head[:1], head + await reader.readexactly(length - 4)


def _is_commit(message: bytes) -> bool:
    return message[5:].rstrip(b"\x00").strip().rstrip(b";").upper() in (b"COMMIT", b"END")
