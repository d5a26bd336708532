"""The server's merge rule, case by case, on values only (no database)."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from server.sync.merge_rule import IncomingChange, RecordState, _merge_change, apply

MAPS = frozenset({"items"})
ALICE = uuid.UUID(int=1)
BOB = uuid.UUID(int=2)


def stamp(ms: int, node: str, counter: int = 0) -> str:
    return f"{ms:013d}-{counter:06d}-{node}"


def change(
    fields: dict,
    ms: int,
    node: str,
    *,
    seq: int,
    base_seq: int | None,
    author: uuid.UUID = ALICE,
    deleted: bool = False,
) -> IncomingChange:
    return IncomingChange(fields, stamp(ms, node), author, base_seq, seq, deleted)


def created(fields: dict, ms: int = 1000, node: str = "phone-a") -> RecordState:
    state, losses = apply(RecordState(), change(fields, ms, node, seq=1, base_seq=None), MAPS)
    assert losses == []
    return state


def test_new_record_has_a_clock_and_author_per_field() -> None:
    state = created({"note": "一楼", "items.desks": {"done": True}})
    assert state.fields == {"note": "一楼", "items": {"desks": {"done": True}}}
    assert state.field_hlc == {
        "note": stamp(1000, "phone-a"),
        "items.desks": stamp(1000, "phone-a"),
    }
    assert state.field_meta["note"] == {"seq": 1, "by": str(ALICE), "device": "phone-a"}


def test_same_field_concurrent_edits_later_wins_loser_kept() -> None:
    state = created({"note": "原始"})
    # Both devices saw seq 1; B's clock is later.
    state, losses = apply(
        state, change({"note": "A写的"}, 2000, "phone-a", seq=2, base_seq=1), MAPS
    )
    assert losses == []
    state, losses = apply(
        state, change({"note": "B写的"}, 3000, "phone-b", seq=3, base_seq=1, author=BOB), MAPS
    )
    assert state.fields["note"] == "B写的"
    [loss] = losses
    assert loss.field == "note"
    assert (loss.winner.value, loss.winner.device, loss.winner.author) == (
        "B写的",
        "phone-b",
        str(BOB),
    )
    assert (loss.loser.value, loss.loser.device, loss.loser.author) == (
        "A写的",
        "phone-a",
        str(ALICE),
    )
    assert loss.loser.hlc == stamp(2000, "phone-a")


def test_a_late_arriving_older_edit_loses_and_is_kept() -> None:
    state = created({"note": "原始"})
    state, _ = apply(
        state, change({"note": "B新"}, 3000, "phone-b", seq=2, base_seq=1, author=BOB), MAPS
    )
    # A's edit was made earlier (offline for days) and arrives later: it loses by clock.
    state, losses = apply(state, change({"note": "A旧"}, 2000, "phone-a", seq=3, base_seq=1), MAPS)
    assert state.fields["note"] == "B新"
    [loss] = losses
    assert loss.winner.value == "B新" and loss.loser.value == "A旧"


def test_different_fields_merge_without_conflict() -> None:
    state = created({"note": "x", "completed_at": None})
    state, l1 = apply(state, change({"note": "A"}, 2000, "phone-a", seq=2, base_seq=1), MAPS)
    state, l2 = apply(
        state,
        change({"completed_at": "2026-11-29T09:00:00Z"}, 1500, "phone-b", seq=3, base_seq=1),
        MAPS,
    )
    assert (l1, l2) == ([], [])
    assert state.fields == {"note": "A", "completed_at": "2026-11-29T09:00:00Z"}


def test_map_entries_merge_one_by_one() -> None:
    state = created({"items": {"desks": {"done": False}, "floor": {"done": False}}})
    state, l1 = apply(
        state, change({"items.desks": {"done": True}}, 2000, "phone-a", seq=2, base_seq=1), MAPS
    )
    state, l2 = apply(
        state, change({"items.floor": {"done": True}}, 1900, "phone-b", seq=3, base_seq=1), MAPS
    )
    assert (l1, l2) == ([], [])
    assert state.fields["items"] == {"desks": {"done": True}, "floor": {"done": True}}
    # The same entry from both: later wins, the other is kept.
    state, losses = apply(
        state, change({"items.desks": {"done": False}}, 2500, "phone-b", seq=4, base_seq=1), MAPS
    )
    assert state.fields["items"]["desks"] == {"done": False}
    assert [loss.field for loss in losses] == ["items.desks"]


def test_a_whole_map_is_a_write_to_each_entry_it_names() -> None:
    state = created({"items": {"desks": {"done": False}, "floor": {"done": False}}})
    state, _ = apply(
        state,
        change({"items": {"desks": {"done": True}}}, 2000, "phone-a", seq=2, base_seq=1),
        MAPS,
    )
    assert state.fields["items"] == {"desks": {"done": True}, "floor": {"done": False}}


def test_an_edit_after_seeing_the_other_is_no_conflict() -> None:
    state = created({"note": "原始"})
    state, _ = apply(
        state, change({"note": "B"}, 2000, "phone-b", seq=2, base_seq=1, author=BOB), MAPS
    )
    # A pulled seq 2 before editing.
    state, losses = apply(state, change({"note": "A"}, 3000, "phone-a", seq=3, base_seq=2), MAPS)
    assert losses == [] and state.fields["note"] == "A"


def test_own_older_edit_arriving_late_is_superseded_not_a_conflict() -> None:
    state = created({"note": "1"})
    state, _ = apply(state, change({"note": "3"}, 3000, "phone-a", seq=2, base_seq=1), MAPS)
    state, losses = apply(state, change({"note": "2"}, 2000, "phone-a", seq=3, base_seq=1), MAPS)
    assert losses == [] and state.fields["note"] == "3"


def test_equal_values_are_not_conflicts() -> None:
    state = created({"note": "同"})
    state, _ = apply(state, change({"note": "一样"}, 2000, "phone-a", seq=2, base_seq=1), MAPS)
    state, losses = apply(
        state, change({"note": "一样"}, 2500, "phone-b", seq=3, base_seq=1, author=BOB), MAPS
    )
    assert losses == []


def test_equal_time_and_counter_breaks_the_tie_by_device() -> None:
    state = created({"note": "0"})
    a = change({"note": "A"}, 5000, "phone-a", seq=2, base_seq=1)
    b = change({"note": "B"}, 5000, "phone-b", seq=3, base_seq=1, author=BOB)
    one, _ = apply(apply(state, a, MAPS)[0], b, MAPS)
    two, _ = apply(apply(state, b, MAPS)[0], a, MAPS)
    assert one.fields == two.fields == {"note": "B"}  # "phone-b" > "phone-a"


def test_clock_skew_a_device_far_behind_loses_but_nothing_is_lost() -> None:
    state = created({"note": "0"}, ms=1_764_400_000_000)
    # A phone whose clock is a year behind edits after seeing the record: the HLC it makes
    # is ahead of what it saw (it observed the pulled stamps), so it still wins.
    observed = stamp(1_764_400_000_000, "phone-a", 1)
    state, losses = apply(
        state,
        IncomingChange({"note": "skewed but later"}, observed, ALICE, 1, 2),
        MAPS,
    )
    assert state.fields["note"] == "skewed but later" and losses == []
    # One that never synced writes with its wrong clock: it loses, and is kept.
    state, losses = apply(
        state,
        change({"note": "from the past"}, 1_733_000_000_000, "phone-c", seq=3, base_seq=None),
        MAPS,
    )
    assert state.fields["note"] == "skewed but later"
    assert [loss.loser.value for loss in losses] == ["from the past"]


def test_delete_is_a_tombstone_and_a_concurrent_edit_is_kept() -> None:
    state = created({"note": "x"})
    state, _ = apply(
        state, change({}, 2000, "phone-b", seq=2, base_seq=1, author=BOB, deleted=True), MAPS
    )
    assert state.deleted and state.fields == {"note": "x"}
    assert state.field_meta["deleted"]["by"] == str(BOB)
    state, losses = apply(state, change({"note": "A改"}, 3000, "phone-a", seq=3, base_seq=1), MAPS)
    assert state.deleted  # the delete stands
    [loss] = losses
    assert loss.field == "deleted"
    assert loss.winner.value is True and loss.winner.device == "phone-b"
    assert loss.loser.value == {"note": "A改"}


def test_order_of_arrival_does_not_change_the_result() -> None:
    state = created({"note": "0", "items": {"d": {"done": False}}})
    edits = [
        change({"note": "A", "items.d": {"done": True}}, 2000, "phone-a", seq=0, base_seq=1),
        change({"note": "B"}, 2100, "phone-b", seq=0, base_seq=1, author=BOB),
        change(
            {"items": {"d": {"done": False}, "e": {"done": True}}},
            1900,
            "phone-c",
            seq=0,
            base_seq=1,
        ),
    ]
    results = []
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        current = state
        for seq, index in enumerate(order, start=2):
            e = edits[index]
            current, _ = apply(
                current, IncomingChange(e.fields, e.hlc, e.author, e.base_seq, seq), MAPS
            )
        results.append((current.fields, current.field_hlc))
    assert results[0] == results[1] == results[2]


# A new record takes a one-pass path; it must give what the general merge gives.
_keys = st.sampled_from(["note", "area_id", "items", "items.a", "items.b", "items.c-1"])
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=5),
    st.dictionaries(st.sampled_from("ab"), st.integers()),
)


@given(
    fields=st.dictionaries(
        _keys,
        st.one_of(
            _values, st.dictionaries(st.sampled_from(["a", "b", "x_2"]), _values, max_size=3)
        ),
        max_size=5,
    ),
    deleted=st.booleans(),
    author=st.sampled_from([ALICE, None]),
)
def test_a_first_write_is_the_general_merge_into_nothing(
    fields: dict, deleted: bool, author: uuid.UUID | None
) -> None:
    incoming = IncomingChange(fields, stamp(5000, "phone-c", 3), author, None, 42, deleted)
    fast, losses = apply(RecordState(), incoming, MAPS)
    general, general_losses = _merge_change(
        RecordState(), incoming, MAPS, str(author) if author else None, "phone-c"
    )
    assert losses == general_losses == []
    assert fast == general
