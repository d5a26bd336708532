"""Recording a batch of push outcomes at once leaves the store exactly as recording them one
by one did (the implementation before batching is kept here as the reference)."""

import json
import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.encrypted_store import EncryptedStore, Profile
from client.plain_store import PlainStore
from client.store import OutboxEntry, PushOutcome
from shared.merge import merge
from shared.schemas.collections import COLLECTIONS

COLLECTION = "checklist_templates"
CONFIRMED = ("applied", "duplicate", "conflict")
STATUSES = ("applied", "duplicate", "conflict", "rejected")


def old_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class RowByRow:
    """`record_push_outcomes` as it was: per outcome, read, fold and write, then rebuild
    each touched record's view on its own."""

    def record_push_outcomes(self: Any, outcomes: Sequence[PushOutcome]) -> None:
        now = datetime.now(UTC).isoformat()
        with self._tx() as conn:
            touched: set[tuple[str, str]] = set()
            for outcome in outcomes:
                row = conn.execute(
                    "SELECT * FROM outbox WHERE change_id = ?", (outcome.change_id,)
                ).fetchone()
                if row is None:
                    continue
                entry = self._entry(row)
                conn.execute("DELETE FROM outbox WHERE change_id = ?", (entry.change_id,))
                touched.add((entry.collection, entry.record_id))
                if outcome.status in CONFIRMED:
                    self._old_fold(conn, entry)
                    continue
                ad = self._change_ad("rejected", entry.collection, entry.record_id, entry.change_id)
                conn.execute(
                    "INSERT OR REPLACE INTO rejected (change_id, collection, record_id, hlc,"
                    " base_seq, fields, deleted, code, message, rejected_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.change_id,
                        entry.collection,
                        entry.record_id,
                        entry.hlc,
                        entry.base_seq,
                        self._seal(entry.fields, ad),
                        int(entry.deleted),
                        outcome.code or "rejected",
                        outcome.message or "",
                        now,
                    ),
                )
            for collection, record_id in touched:
                self._old_rebuild(conn, collection, record_id)

    def _old_fold(self: Any, conn: sqlite3.Connection, entry: OutboxEntry) -> None:
        row = self._row(conn, entry.collection, entry.record_id)
        if row is None:
            return
        merged = merge(
            self._server(row),
            json.loads(row["server_hlc"]),
            entry.fields,
            entry.hlc,
            COLLECTIONS[entry.collection].map_fields,
        )
        conn.execute(
            "UPDATE records SET server_fields = ?, server_hlc = ?,"
            " server_deleted = server_deleted OR ? WHERE collection = ? AND record_id = ?",
            (
                self._seal(merged.fields, f"server|{entry.collection}|{entry.record_id}"),
                old_json(merged.field_hlc),
                int(entry.deleted),
                entry.collection,
                entry.record_id,
            ),
        )

    def _old_rebuild(self: Any, conn: sqlite3.Connection, collection: str, record_id: str) -> None:
        row = self._row(conn, collection, record_id)
        if row is None:
            return
        fields = self._server(row)
        field_hlc = json.loads(row["server_hlc"])
        deleted = bool(row["server_deleted"])
        pending = conn.execute(
            "SELECT * FROM outbox WHERE collection = ? AND record_id = ? ORDER BY id",
            (collection, record_id),
        )
        for entry in map(self._entry, pending):
            outcome = merge(
                fields, field_hlc, entry.fields, entry.hlc, COLLECTIONS[collection].map_fields
            )
            fields, field_hlc = outcome.fields, outcome.field_hlc
            deleted = deleted or entry.deleted
        if row["seq"] is None and not fields and not deleted:
            conn.execute(
                "DELETE FROM records WHERE collection = ? AND record_id = ?",
                (collection, record_id),
            )
            return
        conn.execute(
            "UPDATE records SET fields = ?, field_hlc = ?, deleted = ?"
            " WHERE collection = ? AND record_id = ?",
            (
                self._seal(fields, f"view|{collection}|{record_id}"),
                old_json(field_hlc),
                int(deleted),
                collection,
                record_id,
            ),
        )


class RowByRowPlain(RowByRow, PlainStore):
    pass


class RowByRowEncrypted(RowByRow, EncryptedStore):
    pass


def contents(store: PlainStore) -> dict[str, Any]:
    """Everything the store holds, values opened, ignoring when a rejection was noted."""
    conn = store._conn
    records = {}
    for r in conn.execute("SELECT * FROM records"):
        key = (r["collection"], r["record_id"])
        records[key] = (
            store._server(r),
            json.loads(r["server_hlc"]),
            r["server_deleted"],
            r["seq"],
            store._view(r),
            store._view_hlc(r),
            r["deleted"],
        )
    outbox = [(r["id"], store._entry(r)) for r in conn.execute("SELECT * FROM outbox")]
    rejected = {
        r["change_id"]: (store._entry(r, "rejected"), r["code"], r["message"])
        for r in conn.execute("SELECT * FROM rejected")
    }
    return {"records": records, "outbox": outbox, "rejected": rejected}


def clone(store: PlainStore, into: PlainStore) -> PlainStore:
    store._conn.backup(into._conn)
    return into


# A record's story: pulled from the server first or not, then local edits.
edits = st.lists(
    st.one_of(
        st.fixed_dictionaries({"name": st.sampled_from(["晨检", "午检", "Evening"])}),
        st.dictionaries(
            st.sampled_from(["items.a", "items.b", "items.c"]),
            st.sampled_from([{"zh": "擦桌面"}, {"zh": "开窗", "order": 2}, {"zh": "拖地"}]),
            min_size=1,
            max_size=2,
        ),
        st.just({"deleted": True}),
    ),
    max_size=4,
)
stories = st.lists(st.tuples(st.booleans(), st.booleans(), edits), min_size=1, max_size=5)


def build(store: PlainStore, story: list[tuple[bool, bool, list[dict[str, Any]]]]) -> None:
    changes = []
    for index, (pulled, server_deleted, _) in enumerate(story):
        if pulled:
            stamp = f"1764404130{index:03d}-000000-server"
            changes.append(
                {
                    "collection": COLLECTION,
                    "record_id": f"00000000-0000-4000-8000-{index:012d}",
                    "seq": index + 1,
                    "fields": {"name": f"模板 {index}", "items": {"a": {"zh": "擦桌面"}}},
                    "field_hlc": {"name": stamp, "items.a": stamp},
                    "deleted": server_deleted,
                }
            )
    store.apply_pull_page(changes, [], "cursor-1")
    for index, (pulled, _, record_edits) in enumerate(story):
        record_id = f"00000000-0000-4000-8000-{index:012d}"
        if not pulled and record_edits:
            store.edit(COLLECTION, record_id, {"name": "新模板", "items": {"b": {"zh": "开窗"}}})
        for change in record_edits:
            if change.get("deleted"):
                store.edit(COLLECTION, record_id, {}, deleted=True)
            else:
                store.edit(COLLECTION, record_id, change)


@st.composite
def outcome_batches(draw: Any, change_ids: list[str]) -> list[list[PushOutcome]]:
    """One or two batches naming some of the outbox's changes (in any order, some twice),
    and changes the outbox does not hold (recorded before)."""
    batches = []
    for _ in range(draw(st.integers(1, 2))):
        named = draw(st.lists(st.sampled_from(change_ids), max_size=8)) if change_ids else []
        named += [str(uuid.uuid4()) for _ in range(draw(st.integers(0, 2)))]
        order = draw(st.permutations(named))
        batches.append(
            [
                PushOutcome(
                    change_id,
                    draw(st.sampled_from(STATUSES)),
                    seq=100 + i,
                    code="invalid_value",
                    message="温度不对",
                )
                for i, change_id in enumerate(order)
            ]
        )
    return batches


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(story=stories, data=st.data())
def test_batched_outcomes_match_row_by_row(story: Any, data: st.DataObject) -> None:
    batched = PlainStore(":memory:", "phone-1")
    build(batched, story)
    reference = clone(batched, RowByRowPlain(":memory:", "phone-1"))
    change_ids = [e.change_id for e in batched.pending(1000)]
    # As the engine records them: with the entries it sent, parsed or as their JSON text.
    sent: Any = data.draw(
        st.sampled_from([(), batched.pending(1000), batched.pending_encoded(1000)])
    )
    for batch in data.draw(outcome_batches(change_ids)):
        batched.record_push_outcomes(batch, sent)
        reference.record_push_outcomes(batch)
        assert contents(batched) == contents(reference)


def test_batched_outcomes_match_row_by_row_in_the_encrypted_store(tmp_path: Path) -> None:
    profile = Profile(str(uuid.uuid4()), "teacher1", "class_teacher", "http://x")
    batched = EncryptedStore.create(tmp_path / "a.db", "phone-1", "password-1", profile)
    story = [
        (True, False, [{"name": "晨检"}, {"items.b": {"zh": "开窗"}}]),
        (True, True, [{"items.a": {"zh": "拖地"}}]),
        (False, False, [{"name": "午检"}, {"deleted": True}]),
        (False, False, [{"items.c": {"zh": "擦桌面"}}]),
        (True, False, []),
    ]
    build(batched, story)
    reference = RowByRowEncrypted(tmp_path / "b.db", "phone-1")
    clone(batched, reference)
    reference._key = batched._key
    ids = [e.change_id for e in batched.pending(100)]
    statuses = ["applied", "conflict", "rejected", "duplicate"] + ["applied", "rejected"] * 2
    batch = [
        PushOutcome(c, s, seq=50 + i) for i, (c, s) in enumerate(zip(ids, statuses, strict=True))
    ]
    batch.insert(2, PushOutcome(str(uuid.uuid4()), "applied", seq=9))  # recorded before
    sent = batched.pending_encoded(100)
    for half in (batch[:4], batch[4:]):
        batched.record_push_outcomes(half, sent)
        reference.record_push_outcomes(half)
        assert contents(batched) == contents(reference)
    assert batched.pending_count() == 0
    assert len(batched.rejected()) == 3
