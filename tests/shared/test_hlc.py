"""The hybrid logical clock: format, order, monotonicity and the server's sanity checks."""

import re
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.hlc import (
    MAX_AHEAD_MS,
    MAX_COUNTER,
    Clock,
    InvalidHLC,
    Timestamp,
    check_not_ahead,
    parse,
)

FORMAT = re.compile(r"^[0-9]{13}-[0-9]{6}-[A-Za-z0-9_-]{1,64}\Z")
NODE_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
T0 = 1_764_404_130_123  # 2025-11-29T08:15:30.123Z
HOUR_MS = 60 * 60 * 1000


def fake_wall(readings: Iterable[int]) -> Callable[[], int]:
    """A wall clock that returns the given readings, then keeps repeating the last one."""
    values = list(readings)
    state = {"i": 0}

    def now_ms() -> int:
        value = values[min(state["i"], len(values) - 1)]
        state["i"] += 1
        return value

    return now_ms


def frozen(ms: int) -> Callable[[], int]:
    return lambda: ms


def test_stamp_format_is_exact() -> None:
    clock = Clock("phone-7f3a", now_ms=frozen(T0))
    stamp = clock.now()
    assert stamp == "1764404130123-000000-phone-7f3a"
    assert FORMAT.match(stamp)


def test_small_values_are_zero_padded() -> None:
    assert str(Timestamp(42, 7, "n")) == "0000000000042-000007-n"
    stamp = Clock("n", now_ms=frozen(5)).now()
    assert stamp == "0000000000005-000000-n"
    assert parse(stamp) == Timestamp(5, 0, "n")


def test_parse_round_trips() -> None:
    ts = parse("1764404130123-000042-tablet_02")
    assert ts == Timestamp(1764404130123, 42, "tablet_02")
    assert str(ts) == "1764404130123-000042-tablet_02"
    # The node may itself contain dashes.
    assert parse("1764404130123-000000-phone-7f3a").node == "phone-7f3a"


def test_string_order_equals_time_order() -> None:
    stamps = [
        "1764404130123-000000-zzz",
        "0999999999999-999999-a",
        "1764404130123-000001-a",
        "1764404130124-000000-a",
        "1764404130123-000000-a",
        "1764404130123-000000-a-b",
    ]
    assert sorted(stamps) == sorted(stamps, key=parse)


node_strategy = st.text(alphabet=NODE_ALPHABET, min_size=1, max_size=64)
timestamp_strategy = st.builds(
    Timestamp,
    millis=st.integers(min_value=0, max_value=10**13 - 1),
    counter=st.integers(min_value=0, max_value=MAX_COUNTER),
    node=node_strategy,
)


@settings(max_examples=200, deadline=None)
@given(a=timestamp_strategy, b=timestamp_strategy)
def test_string_order_equals_timestamp_order_property(a: Timestamp, b: Timestamp) -> None:
    assert (str(a) < str(b)) == (a < b)
    assert (str(a) == str(b)) == (a == b)
    assert parse(str(a)) == a


def test_wall_clock_jumping_back_still_increases() -> None:
    clock = Clock("phone-7f3a", now_ms=fake_wall([T0, T0 + 500, T0 - 60_000, T0 - 1, T0 + 500]))
    stamps = [clock.now() for _ in range(5)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 5
    # While the wall clock is behind, the clock stays at the highest time it has seen.
    assert [parse(s).millis for s in stamps] == [T0, T0 + 500, T0 + 500, T0 + 500, T0 + 500]
    assert [parse(s).counter for s in stamps] == [0, 0, 1, 2, 3]


def test_clock_returns_to_wall_time_when_wall_catches_up() -> None:
    clock = Clock("n", now_ms=fake_wall([T0, T0 - 10, T0 + 1]))
    assert clock.now() == f"{T0}-000000-n"
    assert clock.now() == f"{T0}-000001-n"
    assert clock.now() == f"{T0 + 1}-000000-n"


def test_many_stamps_in_one_millisecond_increase_the_counter() -> None:
    clock = Clock("n", now_ms=frozen(T0))
    stamps = [clock.now() for _ in range(1000)]
    assert [parse(s).counter for s in stamps] == list(range(1000))
    assert {parse(s).millis for s in stamps} == {T0}
    assert stamps == sorted(stamps)


def test_counter_overflow_moves_to_the_next_millisecond() -> None:
    clock = Clock("n", last=f"{T0}-{MAX_COUNTER - 1:06d}-n", now_ms=frozen(T0))
    assert clock.now() == f"{T0}-999999-n"
    after = clock.now()
    assert after == f"{T0 + 1}-000000-n"
    assert after > f"{T0}-999999-n"
    assert clock.now() == f"{T0 + 1}-000001-n"


def test_clock_resumes_after_its_last_stamp() -> None:
    last = f"{T0}-000005-n"
    clock = Clock("n", last=last, now_ms=frozen(T0 - HOUR_MS))
    assert clock.now() > last


def test_observe_remote_stamp_ahead() -> None:
    clock = Clock("phone", now_ms=frozen(T0))
    assert clock.now() == f"{T0}-000000-phone"
    remote = f"{T0 + 5000}-000003-tablet"
    clock.observe(remote)
    stamp = clock.now()
    assert stamp > remote
    assert parse(stamp) > parse(remote)
    assert stamp == f"{T0 + 5000}-000004-phone"


def test_observe_remote_stamp_with_same_time_and_greater_node() -> None:
    clock = Clock("a", now_ms=frozen(T0))
    clock.now()  # T0-000000-a
    remote = f"{T0}-000000-zzz"
    clock.observe(remote)
    assert clock.now() > remote


def test_observe_remote_stamp_at_counter_limit() -> None:
    clock = Clock("a", now_ms=frozen(T0))
    remote = f"{T0}-999999-b"
    clock.observe(remote)
    stamp = clock.now()
    assert stamp > remote
    assert stamp == f"{T0 + 1}-000000-a"


def test_observe_older_stamp_changes_nothing() -> None:
    clock = Clock("a", now_ms=fake_wall([T0, T0]))
    clock.now()
    clock.observe(f"{T0 - HOUR_MS}-000009-b")
    assert clock.now() == f"{T0}-000001-a"


def test_observe_refuses_malformed_stamps() -> None:
    with pytest.raises(InvalidHLC):
        Clock("a", now_ms=frozen(T0)).observe("yesterday")


def test_two_nodes_at_the_same_instant_differ_and_tie_break_by_node() -> None:
    a = Clock("phone-a", now_ms=frozen(T0)).now()
    b = Clock("phone-b", now_ms=frozen(T0)).now()
    assert a != b
    pa, pb = parse(a), parse(b)
    assert (pa.millis, pa.counter) == (pb.millis, pb.counter) == (T0, 0)
    assert a < b
    assert pa < pb
    assert max(a, b) == b


@pytest.mark.parametrize(
    "stamp",
    [
        "176440413012-000000-phone",  # 12-digit ms
        "17644041301234-000000-phone",  # 14-digit ms
        "1764404130123-00000-phone",  # 5-digit counter
        "1764404130123-0000000-phone",  # 7-digit counter
        "176440413012a-000000-phone",  # letter in ms
        "1764404130123-00000x-phone",  # letter in counter
        "1764404130123-000000",  # no node
        "1764404130123-000000-",  # empty node
        "1764404130123-000000-phone.7f3a",  # dot in node
        "1764404130123-000000-phone 7f3a",  # space in node
        "1764404130123-000000-手机",  # non-ASCII node
        "1764404130123-000000-" + "n" * 65,  # node too long
        "1764404130123_000000_phone",
        "-1764404130123-000000-phone",
        " 1764404130123-000000-phone",
        "",
        "now",
    ],
)
def test_parse_refuses_malformed_stamps(stamp: str) -> None:
    with pytest.raises(InvalidHLC):
        parse(stamp)
    with pytest.raises(InvalidHLC):
        check_not_ahead(stamp, T0)


def test_parse_accepts_longest_node() -> None:
    stamp = "1764404130123-000000-" + "n" * 64
    assert parse(stamp).node == "n" * 64


@pytest.mark.parametrize(
    "stamp",
    [
        "1764404130123-000000-phone\n",  # trailing newline
        "1764404130123-000000-phone\n\n",
        "１７６４４０４１３０１２３-000000-phone",  # full-width digits
        "1764404130123-００００００-phone",
        "١٧٦٤٤٠٤١٣٠١٢٣-000000-phone",  # Arabic-Indic digits
    ],
)
def test_parse_refuses_non_ascii_digits_and_trailing_newline(stamp: str) -> None:
    # The protocol fixes 13 + 6 ASCII digits: anything else breaks string order (a
    # full-width "１" sorts after every ASCII stamp, so such a change would win forever).
    with pytest.raises(InvalidHLC):
        parse(stamp)


def test_server_gate_refuses_full_width_stamp_that_would_win_forever() -> None:
    # A year-old time written with full-width digits: as a string it sorts after any real
    # stamp, so last-writer-wins would let it beat every later edit of that field.
    old = "１７３２８６８１３０１２３-000000-phone"
    assert old > f"{T0 + HOUR_MS}-999999-zzz"
    with pytest.raises(InvalidHLC):
        check_not_ahead(old, T0)


@pytest.mark.parametrize("node", ["", "a.b", "phone 1", "手机", "n" * 65, "dev\n"])
def test_clock_refuses_bad_node_ids(node: str) -> None:
    with pytest.raises(InvalidHLC):
        Clock(node, now_ms=frozen(T0))


def test_clock_refuses_malformed_last_stamp() -> None:
    with pytest.raises(InvalidHLC):
        Clock("n", last="12-3-n", now_ms=frozen(T0))


def test_check_not_ahead_bounds() -> None:
    assert MAX_AHEAD_MS == 24 * HOUR_MS
    node = "phone"
    assert check_not_ahead(f"{T0 + 23 * HOUR_MS}-000000-{node}", T0).millis == T0 + 23 * HOUR_MS
    # Exactly 24 hours is not "more than" 24 hours.
    assert check_not_ahead(f"{T0 + 24 * HOUR_MS}-999999-{node}", T0).counter == MAX_COUNTER
    with pytest.raises(InvalidHLC):
        check_not_ahead(f"{T0 + 24 * HOUR_MS + 1}-000000-{node}", T0)
    with pytest.raises(InvalidHLC):
        check_not_ahead(f"{T0 + 25 * HOUR_MS}-000000-{node}", T0)
    # The past is always fine (an offline device may push week-old changes).
    assert check_not_ahead(f"{T0 - 7 * 24 * HOUR_MS}-000000-{node}", T0).node == node
    assert check_not_ahead(f"{T0}-000000-{node}", T0) == Timestamp(T0, 0, node)


event = st.one_of(
    st.tuples(st.just("tick"), st.integers(min_value=T0 - 10 * HOUR_MS, max_value=T0 + HOUR_MS)),
    st.tuples(st.just("tick"), st.integers(min_value=-5, max_value=5)),  # small jitter
    st.tuples(
        st.just("observe"),
        st.builds(
            Timestamp,
            millis=st.integers(min_value=T0 - HOUR_MS, max_value=T0 + 2 * HOUR_MS),
            counter=st.one_of(
                st.integers(min_value=0, max_value=5),
                st.integers(min_value=MAX_COUNTER - 3, max_value=MAX_COUNTER),
            ),
            node=node_strategy,
        ),
    ),
)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(event, min_size=1, max_size=60), node=node_strategy)
def test_clock_stamps_strictly_increase_whatever_happens(
    events: list[tuple[str, object]], node: str
) -> None:
    wall = [T0]

    def now_ms() -> int:
        return wall[0]

    clock = Clock(node, now_ms=now_ms)
    made: list[str] = []
    seen: list[str] = []
    for kind, value in events:
        if kind == "observe":
            assert isinstance(value, Timestamp)
            clock.observe(str(value))
            seen.append(str(value))
            continue
        assert isinstance(value, int)
        wall[0] = value if value > 1000 else wall[0] + value
        stamp = clock.now()
        assert FORMAT.match(stamp)
        assert parse(stamp).node == node
        if made:
            assert stamp > made[-1]
            assert parse(stamp) > parse(made[-1])
        # Every local stamp is greater than every stamp the clock has observed.
        assert all(stamp > other for other in seen)
        made.append(stamp)
    assert len(set(made)) == len(made)
