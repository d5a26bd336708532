"""The merge rule as pure functions: every field and map entry is an LWW register by HLC."""

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.merge import MergeOutcome, merge, names_entries, read_register, registers

ITEMS = frozenset({"items"})
T0 = 1_764_404_130_123


def hlc(offset: int, node: str = "phone", counter: int = 0) -> str:
    return f"{T0 + offset:013d}-{counter:06d}-{node}"


def tick(done: bool, at: str = "2026-11-29T08:15:30Z", note: str = "") -> dict[str, Any]:
    return {"done": done, "at": at, "note": note}


def test_new_record() -> None:
    out = merge(
        {},
        {},
        {"area_id": "a-1", "round_date": "2026-11-29", "items.wipe_desks": tick(True)},
        hlc(0),
        ITEMS,
    )
    assert isinstance(out, MergeOutcome)
    assert out.fields == {
        "area_id": "a-1",
        "round_date": "2026-11-29",
        "items": {"wipe_desks": tick(True)},
    }
    assert out.field_hlc == {
        "area_id": hlc(0),
        "round_date": hlc(0),
        "items.wipe_desks": hlc(0),
    }
    assert sorted(out.won) == ["area_id", "items.wipe_desks", "round_date"]
    assert out.lost == []


def test_newer_change_wins_a_field() -> None:
    out = merge({"name": "一楼厕所"}, {"name": hlc(0)}, {"name": "一楼卫生间"}, hlc(10), ())
    assert out.fields == {"name": "一楼卫生间"}
    assert out.field_hlc == {"name": hlc(10)}
    assert out.won == ["name"]
    assert out.lost == []


def test_older_change_loses_a_field() -> None:
    out = merge(
        {"name": "一楼卫生间", "kind": "toilet"},
        {"name": hlc(10), "kind": hlc(0)},
        {"name": "一楼厕所", "kind": "public_area"},
        hlc(5),
        (),
    )
    assert out.fields == {"name": "一楼卫生间", "kind": "public_area"}
    assert out.field_hlc == {"name": hlc(10), "kind": hlc(5)}
    assert out.lost == ["name"]
    assert out.won == ["kind"]


def test_counter_and_node_order_changes_in_the_same_millisecond() -> None:
    out = merge({"x": 1}, {"x": hlc(0, "b", 1)}, {"x": 2}, hlc(0, "a", 2), ())
    assert out.fields == {"x": 2}
    out = merge({"x": 1}, {"x": hlc(0, "b")}, {"x": 2}, hlc(0, "a"), ())
    assert out.fields == {"x": 1}
    assert out.lost == ["x"]
    out = merge({"x": 1}, {"x": hlc(0, "a")}, {"x": 2}, hlc(0, "b"), ())
    assert out.fields == {"x": 2}


def test_different_fields_from_two_devices_both_kept() -> None:
    first = merge({}, {}, {"condition": "体温下降"}, hlc(0, "phone"), ())
    second = merge(first.fields, first.field_hlc, {"mood": "good"}, hlc(-100, "tablet"), ())
    assert second.fields == {"condition": "体温下降", "mood": "good"}
    assert second.field_hlc == {"condition": hlc(0, "phone"), "mood": hlc(-100, "tablet")}
    assert second.lost == []


def test_two_devices_tick_different_checklist_items_both_kept() -> None:
    base = merge({}, {}, {"area_id": "a-1", "items": {}}, hlc(0, "lead"), ITEMS)
    phone = merge(
        base.fields, base.field_hlc, {"items.wipe_desks": tick(True)}, hlc(20, "phone"), ITEMS
    )
    tablet = merge(
        phone.fields, phone.field_hlc, {"items.mop_floor": tick(True)}, hlc(10, "tablet"), ITEMS
    )
    assert tablet.fields["items"] == {"wipe_desks": tick(True), "mop_floor": tick(True)}
    assert tablet.field_hlc["items.wipe_desks"] == hlc(20, "phone")
    assert tablet.field_hlc["items.mop_floor"] == hlc(10, "tablet")
    assert tablet.lost == []


def test_same_checklist_item_later_hlc_wins() -> None:
    phone = merge({}, {}, {"items.wipe_desks": tick(True, note="已擦")}, hlc(20, "phone"), ITEMS)
    tablet = merge(
        phone.fields,
        phone.field_hlc,
        {"items.wipe_desks": tick(False, note="没擦")},
        hlc(10, "tablet"),
        ITEMS,
    )
    assert tablet.fields["items"]["wipe_desks"] == tick(True, note="已擦")
    assert tablet.lost == ["items.wipe_desks"]
    later = merge(
        tablet.fields,
        tablet.field_hlc,
        {"items.wipe_desks": tick(False, note="重新擦")},
        hlc(30, "tablet"),
        ITEMS,
    )
    assert later.fields["items"]["wipe_desks"] == tick(False, note="重新擦")
    assert later.field_hlc["items.wipe_desks"] == hlc(30, "tablet")


def test_whole_map_write_is_one_write_per_entry() -> None:
    fields = {"items": {"a": tick(True), "b": tick(True), "c": tick(False)}}
    field_hlc = {"items.a": hlc(0), "items.b": hlc(20), "items.c": hlc(0)}
    out = merge(fields, field_hlc, {"items": {"a": tick(False), "b": tick(False)}}, hlc(10), ITEMS)
    # a: older register, overwritten; b: newer register, kept; c: not named, left alone.
    assert out.fields == {"items": {"a": tick(False), "b": tick(True), "c": tick(False)}}
    assert out.field_hlc == {"items.a": hlc(10), "items.b": hlc(20), "items.c": hlc(0)}
    assert out.won == ["items.a"]
    assert out.lost == ["items.b"]
    assert "items" not in out.field_hlc


def test_whole_map_write_on_new_record_and_empty_map() -> None:
    out = merge({}, {}, {"items": {"a": 1, "b": 2}}, hlc(0), ITEMS)
    assert out.fields == {"items": {"a": 1, "b": 2}}
    assert out.field_hlc == {"items.a": hlc(0), "items.b": hlc(0)}
    empty = merge(out.fields, out.field_hlc, {"items": {}}, hlc(5), ITEMS)
    assert empty.fields == out.fields
    assert empty.field_hlc == out.field_hlc
    assert empty.won == empty.lost == []


def test_non_map_dict_field_is_one_register() -> None:
    out = merge({"meta": {"a": 1, "b": 2}}, {"meta": hlc(0)}, {"meta": {"a": 3}}, hlc(5), ITEMS)
    assert out.fields == {"meta": {"a": 3}}
    assert out.field_hlc == {"meta": hlc(5)}


def test_equal_hlc_does_not_overwrite() -> None:
    stamp = hlc(0)
    out = merge({"name": "甲"}, {"name": stamp}, {"name": "乙"}, stamp, ())
    assert out.fields == {"name": "甲"}
    assert out.lost == ["name"]
    out = merge({"items": {"a": 1}}, {"items.a": stamp}, {"items.a": 2}, stamp, ITEMS)
    assert out.fields == {"items": {"a": 1}}
    assert out.lost == ["items.a"]


def test_inputs_are_not_mutated() -> None:
    fields: dict[str, Any] = {
        "name": "一楼",
        "teacher_ids": ["t-1"],
        "items": {"a": tick(True), "b": tick(False)},
    }
    field_hlc = {"name": hlc(0), "teacher_ids": hlc(0), "items.a": hlc(0), "items.b": hlc(0)}
    incoming: dict[str, Any] = {
        "name": "二楼",
        "items.a": tick(False),
        "items": {"c": tick(True)},
        "teacher_ids": ["t-2"],
    }
    before = copy.deepcopy((fields, field_hlc, incoming))
    out = merge(fields, field_hlc, incoming, hlc(10), ITEMS)
    assert (fields, field_hlc, incoming) == before
    assert out.fields["items"] == {"a": tick(False), "b": tick(False), "c": tick(True)}
    assert out.fields["items"] is not fields["items"]
    # Changing the outcome later does not reach back into the inputs either.
    out.fields["items"]["z"] = 1
    out.field_hlc["items.z"] = hlc(11)
    assert (fields, field_hlc, incoming) == before


def test_registers_and_read_register() -> None:
    assert list(registers({"items": {"a": 1, "b": 2}, "name": "x"}, ITEMS)) == [
        ("items.a", 1),
        ("items.b", 2),
        ("name", "x"),
    ]
    assert list(registers({"items.a": 1}, ITEMS)) == [("items.a", 1)]
    fields = {"name": "x", "items": {"a": 1}}
    assert read_register(fields, "name") == "x"
    assert read_register(fields, "items.a") == 1
    assert read_register(fields, "items.b") is None
    assert read_register(fields, "name.a") is None
    assert read_register(fields, "missing") is None


PLAIN_KEYS = ("name", "note", "status")
ENTRY_NAMES = ("a", "b", "c", "d")
NODES = ("phone", "tablet", "lead-pc")

value_strategy = st.one_of(
    st.integers(min_value=-5, max_value=5),
    st.sampled_from(["已完成", "没擦", "", "good"]),
    st.booleans(),
    st.none(),
    st.builds(tick, st.booleans(), note=st.sampled_from(["", "备注"])),
)
incoming_strategy = st.one_of(
    st.dictionaries(
        st.sampled_from([*PLAIN_KEYS, *(f"items.{e}" for e in ENTRY_NAMES)]),
        value_strategy,
        min_size=1,
        max_size=4,
    ),
    st.builds(
        lambda whole, extra: {"items": whole, **extra},
        st.dictionaries(st.sampled_from(ENTRY_NAMES), value_strategy, max_size=4),
        st.dictionaries(st.sampled_from(PLAIN_KEYS), value_strategy, max_size=2),
    ),
)
hlc_strategy = st.builds(
    hlc,
    st.integers(min_value=0, max_value=5),
    st.sampled_from(NODES),
    st.integers(min_value=0, max_value=2),
)


@st.composite
def change_sets(draw: st.DrawFn) -> list[tuple[str, dict[str, Any]]]:
    stamps = draw(st.lists(hlc_strategy, min_size=1, max_size=8, unique=True))
    return [(stamp, draw(incoming_strategy)) for stamp in stamps]


def apply_all(changes: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, str]]:
    fields: dict[str, Any] = {}
    field_hlc: dict[str, str] = {}
    for stamp, incoming in changes:
        out = merge(fields, field_hlc, incoming, stamp, ITEMS)
        fields, field_hlc = out.fields, out.field_hlc
    return fields, field_hlc


def expected_registers(changes: list[tuple[str, dict[str, Any]]]) -> dict[str, tuple[str, Any]]:
    """Each register's winner: the value written with the greatest HLC."""
    best: dict[str, tuple[str, Any]] = {}
    for stamp, incoming in changes:
        for key, value in registers(incoming, ITEMS):
            if key not in best or stamp > best[key][0]:
                best[key] = (stamp, value)
    return best


@settings(max_examples=150, deadline=None)
@given(changes=change_sets(), data=st.data())
def test_merge_is_order_independent(
    changes: list[tuple[str, dict[str, Any]]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(changes))
    fields_a, hlc_a = apply_all(changes)
    fields_b, hlc_b = apply_all(shuffled)
    assert fields_a == fields_b
    assert hlc_a == hlc_b
    # And the common result is the per-register LWW winner.
    best = expected_registers(changes)
    assert hlc_a == {key: stamp for key, (stamp, _) in best.items()}
    for key, (_, value) in best.items():
        assert read_register(fields_a, key) == value


@given(st.lists(st.text(max_size=6)))
def test_names_entries_is_whether_any_key_has_a_dot(keys: list[str]) -> None:
    assert names_entries(keys) == any("." in key for key in keys)
