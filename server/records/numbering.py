"""The change numbers and the lock: the plan is numbered from the counter as its first read
found it, and follows the counter up (or is planned again) when others committed first."""

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import text

from server.records.rows import COUNTER, RECORDS, Key
from server.records.state import WriterState


@dataclass
class Interference:
    """What other writers committed between a writer's first read (S0) and its lock (S1)."""

    since: int
    upto: int
    # Records written in between, with their seq now.
    records: dict[Key, int] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return self.upto != self.since

    def collections(self) -> set[str]:
        return {collection for collection, _ in self.records}


class Numbering(WriterState):
    """The change numbers: the counter's lock, what others committed meanwhile, and
    moving the plan's numbers to follow the counter."""

    def _take_lock(self) -> int:
        self.locked = True
        return int(
            self.session.execute(
                text("UPDATE seq_counter SET last_seq = last_seq WHERE id = 1 RETURNING last_seq")
            ).scalar_one()
        )

    def _anchor(self) -> int:
        """The counter the plan is numbered from, read before the first record is."""
        if self._base is None:
            self._base = int(
                self.session.execute(
                    sa.select(COUNTER.c.last_seq).where(COUNTER.c.id == 1)
                ).scalar_one()
            )
        return self._base

    def lock(self) -> Interference:
        """Take the change-number lock, held until the commit; what was committed since
        the plan's reads. Follow with `rebase` when something was."""
        base = self._anchor()
        if self.locked:
            return Interference(base, base)
        if self.postgresql:
            self.session.commit()  # leave autocommit: the lock is held by a transaction
        counter = self._take_lock()
        return self._since(base, counter)

    def _since(self, base: int, counter: int | None = None) -> Interference:
        """What was committed after `base`: the counter now and the records written."""
        seen = Interference(base, base)
        if counter == base:
            return seen
        query = (
            sa.select(COUNTER.c.last_seq, RECORDS.c.collection, RECORDS.c.record_id, RECORDS.c.seq)
            .select_from(COUNTER.outerjoin(RECORDS, RECORDS.c.seq > base))
            .where(COUNTER.c.id == 1)
        )
        for last_seq, collection, record_id, seq in self.session.execute(query):
            seen.upto = last_seq  # one statement: the counter and the records agree
            if collection is not None:
                seen.records[(collection, record_id)] = seq
        return seen

    def stale(self, seen: Interference) -> set[Key]:
        """The records this writer read at a version other than the one committed now."""
        out: set[Key] = set()
        for key, seq in seen.records.items():
            if key in self._db:
                held = self._db[key]
                if held is None or held.seq != seq:
                    out.add(key)
        return out

    def rebase(self, seen: Interference, *, replan: bool) -> None:
        """Follow the counter to `seen.upto`: move the plan's numbers up, or (`replan`)
        drop the plan, and forget the records committed meanwhile so they are read anew."""
        if replan:
            again = [key for key in seen.records if key in self._db]
            for key in again:
                del self._db[key]
            self._forget_plan()
            self._users.clear()
            self._shift = 0
            self.moved = False
            self._base = seen.upto
            self.preload(again)
            return
        self._renumber(seen.upto)

    def _renumber(self, base: int) -> None:
        """Number the plan from `base` instead."""
        shift = base - self._anchor()
        if shift == 0:
            return
        for row in self._rows.values():
            row.seq += shift
        for stamp in self._stamped:
            stamp["seq"] += shift
        for entry in self._changes:
            entry["seq"] += shift
        for move in self._moves:
            move["seq"] += shift
        self._base = base
        self._shift += shift

    def _forget_plan(self) -> None:
        self._rows.clear()
        self._written.clear()
        self._changes.clear()
        self._moves.clear()
        self._stamped.clear()
        self._used = 0

    def final_seq(self, seq: int) -> int:
        """The number a seq this writer's plan handed out was written with."""
        return seq + self._shift

    def next_seq(self) -> int:
        self._used += 1
        return self._anchor() + self._used
