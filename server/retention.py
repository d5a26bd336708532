"""Closed cases leave phones, and (when the server is told to) the server too.

**On phones** (`closed_cases_on_phones_days`, a school setting the lead sets, default 30):
a sick case or counseling case closed longer than that moves, with its follow-ups or
interventions and the conflict records about them, from its bucket to `archive:<bucket>`,
which no role reads. The move is an ordinary write through `RecordWriter`, so the next pull
of every phone that read the old bucket lists them in `removed`, the same way a shrunk
scope does. A case that is written again (reopened) comes back to the phones; one edited
while archived (an edit made offline) stays archived and is removed again.

**On the server** (`CAREROUNDS_KEEP_CLOSED_CASES_DAYS`, default unset: forever): an
archived case closed longer than that is deleted with what went with it, and with their
change history; their ids are kept (`purged_records`), and a change to one is refused.
Who opened a counseling case (`case_views`) is an audit entry and is kept.

`sweep` runs in every server process once an hour (`RetentionSweeper`), and on demand as
`carerounds-server retention`. Running it twice, or in several processes at once, does no
harm: each batch takes the change counter's lock, and a case already moved is skipped.
"""

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session

from server.models import Record, utcnow
from server.records import RecordWriter
from server.records.rows import CHANGES, COUNTER, PURGED, RECORDS, _keys_in
from server.sync import scopes
from shared import retention
from shared.hlc import Clock
from shared.schemas.collections import SCHOOL_SETTINGS_ID

log = logging.getLogger(__name__)

_BATCH = 200  # cases per transaction


@dataclass
class Swept:
    archived: int = 0  # cases moved off the phones (their follow-ups went with them)
    purged: int = 0  # archived cases deleted from the server, their records counted apart
    purged_records: int = 0


def days_on_phones(session: Session) -> int:
    settings = session.get(Record, ("school_settings", SCHOOL_SETTINGS_ID))
    fields = settings.fields if settings is not None and not settings.deleted else {}
    return retention.days_on_phones(fields)


def _closed_cases(session: Session, *, archived: bool) -> Iterator[Any]:
    """The cases (live or archived), read a thousand at a time: a school's years of
    history hold a hundred thousand cases, which the sweep only needs one by one."""
    in_archive = RECORDS.c.bucket.startswith(scopes.ARCHIVE_PREFIX, autoescape=True)
    return iter(
        session.execute(
            sa.select(
                RECORDS.c.collection, RECORDS.c.record_id, RECORDS.c.fields, RECORDS.c.field_hlc
            )
            .where(
                RECORDS.c.collection.in_(scopes.ARCHIVED_CASES),
                RECORDS.c.deleted.is_(False),
                in_archive if archived else sa.not_(in_archive),
            )
            # A class's cases together: each batch's writer reads the buckets its cases
            # leave whole, once (in any order, 10^5 records took minutes: every batch read
            # every class).
            .order_by(RECORDS.c.bucket, RECORDS.c.seq)
            .execution_options(yield_per=1000)
        )
    )


def archive(session: Session, clock: Clock, now: datetime | None = None) -> int:
    """Move the cases closed longer than the school's setting off every phone."""
    now = now or utcnow()
    days = days_on_phones(session)
    due = [
        (case.collection, case.record_id)
        for case in _closed_cases(session, archived=False)
        if retention.closed_before(case.fields, case.field_hlc, now, days)
    ]
    session.rollback()  # the reads held no lock; each batch takes it
    done = 0
    for start in range(0, len(due), _BATCH):
        writer = RecordWriter(session, clock, now=now)
        for collection, record_id in due[start : start + _BATCH]:
            case = writer.live_row(collection, record_id)
            if case is None or scopes.archived(case.bucket):
                continue  # changed or moved since it was read
            row, _ = writer.write_row(
                collection, record_id, {}, hlc=clock.now(), author=None, device_id=None
            )
            done += scopes.archived(row.bucket)
        writer.finish()
        session.commit()
    return done


def purge(session: Session, keep_days: int, now: datetime | None = None) -> tuple[int, int]:
    """Delete archived cases closed longer than `keep_days`, with what went with them.

    Answers (cases, records) deleted, with the write history of those records. Their
    moves stay (ids and bucket names, nothing a person wrote): a phone that has not synced
    since before the case left the phones still learns at its next pull that it must drop
    it, even when the one sweep archived and purged it."""
    now = now or utcnow()
    cases = [
        case
        for case in _closed_cases(session, archived=True)
        if retention.closed_before(case.fields, case.field_hlc, now, keep_days)
    ]
    records = 0
    for start in range(0, len(cases), _BATCH):
        batch = cases[start : start + _BATCH]
        keys = {(c.collection, c.record_id) for c in batch}
        ids = {str(record_id) for _, record_id in keys}
        there = list(
            session.execute(
                sa.select(
                    RECORDS.c.collection,
                    RECORDS.c.record_id,
                    RECORDS.c.fields,
                    RECORDS.c.scope_collection,
                ).where(
                    RECORDS.c.bucket.in_(
                        sa.select(RECORDS.c.bucket).where(_keys_in(keys)).distinct()
                    )
                )
            )
        )
        keys |= {
            (row.collection, row.record_id)
            for row in there
            if row.collection in _FOLLOWERS and row.fields.get("case_id") in ids
        }
        about = {(collection, str(record_id)) for collection, record_id in keys}
        keys |= {
            (row.collection, row.record_id)
            for row in there
            if row.collection == "conflicts"
            and (row.scope_collection, row.fields.get("record_id")) in about
        }
        # Under the change counter's lock (a push writing at the same moment sees the
        # records gone, and plans again), and only for records still there (a sweep in
        # another process may have purged them first), their ids are kept: a change to
        # one is refused from now on, even the creation sent again by a phone long away.
        counter = COUNTER.c.last_seq
        session.execute(sa.update(COUNTER).where(COUNTER.c.id == 1).values(last_seq=counter))
        when = sa.literal(now, PURGED.c.purged_at.type)
        still_there = sa.select(RECORDS.c.collection, RECORDS.c.record_id, when).where(
            _keys_in(keys)
        )
        session.execute(
            sa.insert(PURGED).from_select(["collection", "record_id", "purged_at"], still_there)
        )
        for table in (RECORDS, CHANGES):
            session.execute(sa.delete(table).where(_keys_in(keys, table)))
        session.commit()
        records += len(keys)
    return len(cases), records


_FOLLOWERS = set(scopes.ARCHIVED_CASES.values())


def sweep(
    session: Session, clock: Clock, keep_days: int | None, now: datetime | None = None
) -> Swept:
    """Archive what phones no longer keep; purge what the server no longer keeps."""
    result = Swept(archived=archive(session, clock, now))
    if keep_days is not None:
        result.purged, result.purged_records = purge(session, keep_days, now)
    return result


class RetentionSweeper:
    """Runs `sweep` in a background thread: a few minutes after the process starts (so
    that several starting together do not all sweep at once), then every `interval`."""

    def __init__(
        self, engine: Engine, clock: Clock, keep_days: int | None, interval: timedelta
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.keep_days = keep_days
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval <= timedelta(0) or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        wait = 60.0 + os.getpid() % 240  # processes started together sweep apart
        while not self._stop.wait(wait):
            wait = self.interval.total_seconds()
            try:
                with Session(self.engine) as session:
                    done = sweep(session, self.clock, self.keep_days)
                if done.archived or done.purged:
                    log.info(
                        "retention: %d closed cases left the phones, %d left the server",
                        done.archived,
                        done.purged,
                    )
            except Exception as exc:  # noqa: BLE001 - tried again next time (a database away)
                log.warning("retention sweep failed: %s", type(exc).__name__)
