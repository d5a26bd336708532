"""A record's view is stored only while it differs from the server layer (changes pending)."""

import uuid
from pathlib import Path

from client.encrypted_store import EncryptedStore, Profile
from client.plain_store import SAME_AS_SERVER
from client.store import PushOutcome

RECORD = "00000000-0000-4000-8000-000000000001"
STAMP = "1764404130123-000000-server"


def raw_view(store: EncryptedStore) -> tuple[object, object]:
    row = store._conn.execute(
        "SELECT fields, field_hlc FROM records WHERE record_id = ?", (RECORD,)
    ).fetchone()
    return row[0], row[1]


def test_view_is_the_server_layer_until_an_edit_and_again_once_pushed(tmp_path: Path) -> None:
    profile = Profile(str(uuid.uuid4()), "lead", "lead", "http://x")
    store = EncryptedStore.create(tmp_path / "s.db", "phone-1", "password-1", profile)
    pulled = {
        "collection": "areas",
        "record_id": RECORD,
        "seq": 7,
        "fields": {"name": "一年级教室", "kind": "classroom", "frequency_days": 1},
        "field_hlc": {"name": STAMP, "kind": STAMP, "frequency_days": STAMP},
        "deleted": False,
    }
    store.apply_pull_page([pulled], [], "c1")
    assert raw_view(store) == (SAME_AS_SERVER, SAME_AS_SERVER)
    got = store.get("areas", RECORD)
    assert got is not None and got.fields == pulled["fields"] and got.seq == 7
    assert got.field_hlc == pulled["field_hlc"]

    entry = store.edit("areas", RECORD, {"name": "二年级教室"})
    fields, field_hlc = raw_view(store)
    assert isinstance(fields, bytes) and b"\xe4\xba\x8c" not in fields  # sealed, not plain
    assert field_hlc != SAME_AS_SERVER
    # A newer server version while the edit is pending: the edit stays on top.
    newer = {**pulled, "seq": 9, "fields": {**pulled["fields"], "frequency_days": 2}}
    newer["field_hlc"] = {**pulled["field_hlc"], "frequency_days": "1764404130200-000000-srv"}
    store.apply_pull_page([newer], [], "c2")
    got = store.get("areas", RECORD)
    assert got is not None
    assert got.fields["name"] == "二年级教室" and got.fields["frequency_days"] == 2
    assert got.field_hlc["name"] == entry.hlc

    store.record_push_outcomes([PushOutcome(entry.change_id, "applied", seq=10)])
    assert raw_view(store) == (SAME_AS_SERVER, SAME_AS_SERVER)
    got = store.get("areas", RECORD)
    (server,) = store.server_records()
    assert got is not None and got.fields == server.fields
    assert got.fields["name"] == "二年级教室" and got.field_hlc == server.field_hlc
    assert [r.record_id for r in store.records("areas")] == [RECORD]

    # Edits build on the view read from the server layer.
    store.edit("areas", RECORD, {"kind": "dorm"})
    got = store.get("areas", RECORD)
    assert got is not None and got.fields["kind"] == "dorm" and got.fields["name"] == "二年级教室"
