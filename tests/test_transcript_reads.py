"""A model turn reads only the transcript rows it has not seen (issue 16), and what it reads
is always what PostgreSQL holds: after another worker wrote, after a retry overwrote an
entry, after this worker restarted, and with writers racing."""

from __future__ import annotations

import asyncio

from ledgerd import transcript
from ledgerd.contracts import RunRef
from ledgerd.db import Pool


def _text(text: str) -> list[dict[str, object]]:
    return [{"type": "text", "text": text}]


async def _from_database(pool: Pool, ref: RunRef) -> list[tuple[int, int, object]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            """SELECT turn, position, content FROM transcript_entries
               WHERE run_id = %s AND thread = %s ORDER BY turn, position""",
            (ref.run_id, ref.thread),
        )
        return [(r["turn"], r["position"], r["content"]) for r in await cursor.fetchall()]


def _seen(rows: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(r["turn"], r["position"], r["content"]) for r in rows]


async def test_each_read_fetches_only_new_rows_and_matches_the_database(pool: Pool) -> None:
    ref = RunRef(run_id="reads-1", thread="executor")
    await transcript.append(pool, ref, 0, 0, "user", _text("task"))
    assert _seen(await transcript.entries(pool, ref)) == await _from_database(pool, ref)

    fetched = transcript.READS.rows
    await transcript.append(pool, ref, 1, 0, "assistant", _text("reply 1"))
    await transcript.append(pool, ref, 1, 1, "user", _text("result 1"))
    rows = await transcript.entries(pool, ref)
    assert transcript.READS.rows - fetched == 2  # the two new rows, not all three
    assert _seen(rows) == await _from_database(pool, ref)

    # Nothing new: nothing fetched.
    fetched = transcript.READS.rows
    await transcript.entries(pool, ref)
    assert transcript.READS.rows == fetched


async def test_a_write_by_another_worker_and_a_retry_overwrite_are_seen(pool: Pool) -> None:
    ref = RunRef(run_id="reads-2", thread="executor")
    await transcript.append(pool, ref, 0, 0, "user", _text("task"))
    await transcript.append(pool, ref, 1, 0, "assistant", _text("reply"))
    await transcript.entries(pool, ref)

    # Another worker's connection writes a new row and overwrites an existing one, as a
    # retried activity elsewhere does; this worker's cache knows nothing of it.
    async with pool.connection() as conn:
        await conn.execute(
            """INSERT INTO transcript_entries (run_id, thread, turn, position, role, content)
               VALUES (%s, %s, 1, 1, 'user', '[{"type": "text", "text": "elsewhere"}]')""",
            (ref.run_id, ref.thread),
        )
    await transcript.append(pool, ref, 1, 0, "assistant", _text("reply, retried"))
    rows = await transcript.entries(pool, ref)
    assert _seen(rows) == await _from_database(pool, ref)
    assert rows[1]["content"] == _text("reply, retried")

    # A restarted worker (empty cache) reads the whole thread, the same.
    transcript._THREADS.clear()
    assert _seen(await transcript.entries(pool, ref)) == await _from_database(pool, ref)


async def test_racing_writers_never_leave_a_row_behind_the_reader(pool: Pool) -> None:
    """Parallel tool activities write one thread at once while turns read it: whatever the
    interleaving, every read is a prefix-complete view (rows are numbered under the
    thread's lock), and the last read equals the database."""
    ref = RunRef(run_id="reads-3", thread="executor")
    await transcript.append(pool, ref, 0, 0, "user", _text("task"))

    async def writer(position: int) -> None:
        for turn in range(1, 6):
            await transcript.append(pool, ref, turn, position, "user", _text(f"{turn}/{position}"))

    async def reader() -> None:
        for _ in range(10):
            await transcript.entries(pool, ref)
            await asyncio.sleep(0)

    await asyncio.gather(writer(1), writer(2), writer(3), reader(), reader())
    assert _seen(await transcript.entries(pool, ref)) == await _from_database(pool, ref)
    assert len(await _from_database(pool, ref)) == 16
