"""The fast path of record validation (`plain_records`) says what the models say: the same
records accepted, the same data out; anything it refuses, `validate_record` answers with
the model's own error."""

import re
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum
from types import MappingProxyType
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.schemas import vocabulary
from shared.schemas.collections import (
    COLLECTIONS,
    InvalidValue,
    UnknownField,
    first_error,
    problems_of,
    validate_record,
)
from shared.schemas.plain_records import plain_validator
from shared.schemas.text_records import text_validator
from shared.schemas.vocabulary import ConcentrationUnit
from tests.shared.test_collections import RECORDS

NAMES = sorted(COLLECTIONS)


def vocabulary_enums() -> list[type[Enum]]:
    return [e for e in vars(vocabulary).values() if isinstance(e, type) and issubclass(e, Enum)]


def _model(name: str, fields: dict[str, Any]) -> dict[str, Any] | ValidationError:
    try:
        return COLLECTIONS[name].schema.model_validate(fields).model_dump(mode="json")
    except ValidationError as exc:
        return exc


def _plain(name: str, fields: Any) -> dict[str, Any] | Exception:
    plain = plain_validator(COLLECTIONS[name].schema)
    assert plain is not None
    try:
        return plain(fields)
    except Exception as exc:  # noqa: BLE001 - any refusal is the model's to answer
        return exc


def _answer(name: str, fields: Any) -> Any:
    """What `validate_record` says, as comparable data."""
    try:
        return ("ok", repr(validate_record(COLLECTIONS[name], fields)))
    except InvalidValue as exc:
        return ("invalid", str(exc), exc.collection, repr(exc.problems))
    except UnknownField as exc:
        return ("unknown", str(exc))


def _model_answer(name: str, fields: dict[str, Any]) -> Any:
    """What the model path alone says (`validate_record` before the fast path)."""
    result = _model(name, fields)
    if not isinstance(result, ValidationError):
        return ("ok", repr(result))
    if any(err["type"] == "extra_forbidden" for err in result.errors()):
        return ("unknown", first_error(result))
    return ("invalid", first_error(result), name, repr(problems_of(result)))


def _moment(day: date) -> st.SearchStrategy[str]:
    """Instants around midnight of `day`, in offsets up to a day either way."""
    return st.builds(
        lambda minutes, offset: (
            datetime.combine(day, datetime.min.time(), UTC)
            .__add__(timedelta(minutes=minutes))
            .astimezone(timezone(timedelta(minutes=offset)))
            .isoformat()
        ),
        st.integers(-48 * 60, 48 * 60),
        st.integers(-(24 * 60 - 1), 24 * 60 - 1),
    )


_TEXT = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("\x00\x01\t\n\x0b\x0c\r\x1c\x1f\x7f\x85\x9f\xa0\u2028\u3000\ud800\udfff"),
    ),
    max_size=12,
)
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
    st.builds(lambda s: f"  {s} ", _TEXT),
    st.sampled_from(
        [
            "2000-01-01",
            "1999-12-31",
            "2099-12-31",
            "2100-01-01",
            "2026-02-29",
            "2028-02-29",
            "2026-11-29T08:15:30Z",
            "2026-11-29T08:15:30.123456+08:00",
            "2026-11-29T08:15:30",
            "2026-11-29 08:15:30z",
            "mg_per_l",
            "percent",
            "toilet",
            "open",
            "closed",
            "area_locked",
            "video",
            "high",
            "Asia/Shanghai",
            "Mars/Olympus",
            "0b7c1f5e-3a0d-4c55-9d0e-2f8f6f1c9a01",
            "0B7C1F5E3A0D4C559D0E2F8F6F1C9A01",
            "{0b7c1f5e-3a0d-4c55-9d0e-2f8f6f1c9a01}",
            "x" * 101,
            "",
            " ",
        ]
    ),
    _moment(date(2000, 1, 1)),
    _moment(date(2100, 1, 1)),
    st.dates().map(date.isoformat),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.just(UUID("0b7c1f5e-3a0d-4c55-9d0e-2f8f6f1c9a01")),
    st.just(ConcentrationUnit.PERCENT),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["zh", "done", "at", "unit", "x", "a b"]), inner),
    ),
    max_leaves=6,
)


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a record (dict keys and list indexes), the record's own included."""
    found = [at]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*at, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*at, index))
    return found


def _edited(record: Any, path: tuple[Any, ...], edit: str, value: Any, key: str) -> Any:
    """`record` with one place changed: replaced, removed, or given an extra key."""
    if not path:
        if edit == "add" and isinstance(record, dict):
            return {**record, key: value}
        return value if edit == "replace" else record
    head, rest = path[0], path[1:]
    copy: Any = dict(record) if isinstance(record, dict) else list(record)
    if edit == "remove" and not rest:
        del copy[head]
        return copy
    copy[head] = _edited(record[head], rest, edit, value, key)
    return copy


@st.composite
def _records(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(RECORDS)))
    record: Any = RECORDS[name]
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_paths(record)))
        edit = draw(st.sampled_from(["replace", "remove", "add"]))
        key = draw(st.sampled_from(["note", "colour", "items", "done", "zh", "unit"]))
        record = _edited(record, path, edit, draw(_VALUES), key)
    if not isinstance(record, dict):
        record = {"fields": record}
    return name, record


@pytest.mark.parametrize("name", NAMES)
def test_every_collection_has_the_fast_path(name: str) -> None:
    assert plain_validator(COLLECTIONS[name].schema) is not None


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_a_valid_record_takes_the_fast_path_to_the_models_data(name: str) -> None:
    plain = _plain(name, dict(RECORDS[name]))
    assert not isinstance(plain, Exception)
    assert repr(plain) == repr(_model(name, dict(RECORDS[name])))


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_the_fast_path_accepts_only_what_the_model_accepts_and_gives_its_data(
    case: tuple[str, dict[str, Any]],
) -> None:
    name, fields = case
    plain, model = _plain(name, fields), _model(name, fields)
    if not isinstance(plain, Exception):
        assert repr(plain) == repr(model)  # values, types and key order
    assert _answer(name, fields) == _model_answer(name, fields)


@settings(max_examples=300)
@given(st.sampled_from(NAMES), st.dictionaries(st.text(max_size=8), _VALUES, max_size=4))
def test_any_dict_gets_the_models_answer(name: str, fields: dict[str, Any]) -> None:
    plain, model = _plain(name, fields), _model(name, fields)
    if not isinstance(plain, Exception):
        assert repr(plain) == repr(model)
    assert _answer(name, fields) == _model_answer(name, fields)


_ENDS = _moment(date(2000, 1, 1)) | _moment(date(2100, 1, 1))


@given(st.sampled_from(["at", "completed_at"]), _ENDS)
def test_a_moment_at_the_ends_of_the_years_is_the_models_call(field: str, at: str) -> None:
    fields = dict(RECORDS["disinfection_rounds"])
    if field == "at":
        fields["items"] = {"x": {"done": True, "at": at}}
    else:
        fields["completed_at"] = at
    assert _answer("disinfection_rounds", fields) == _model_answer("disinfection_rounds", fields)
    plain = _plain("disinfection_rounds", fields)
    if not isinstance(plain, Exception):
        assert repr(plain) == repr(_model("disinfection_rounds", fields))


def test_a_mapping_that_is_not_a_dict_gets_the_models_answer() -> None:
    fields = MappingProxyType(dict(RECORDS["students"]))
    assert _answer("students", fields) == _model_answer("students", dict(fields))


@pytest.mark.parametrize(
    ("unit", "concentration"), [("percent", 101), ("percent", 100), ("mg_per_l", 101)]
)
def test_a_model_validator_runs_on_the_fast_path(unit: str, concentration: float) -> None:
    fields = dict(RECORDS["disinfection_rounds"])
    dosage = {"disinfectant": "84", "concentration": concentration, "unit": unit}
    fields["items"] = {"mop": {"done": True, "dosage": dosage}}
    plain, model = _plain("disinfection_rounds", fields), _model("disinfection_rounds", fields)
    assert isinstance(plain, Exception) == isinstance(model, ValidationError)
    assert _answer("disinfection_rounds", fields) == _model_answer("disinfection_rounds", fields)


_CONTROLS_AND_NEIGHBOURS = [
    chr(c) for c in [*range(0x00, 0x21), *range(0x7E, 0xA1), 0x2028, 0x3000, 0xD800, 0xDFFF]
]


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_every_control_character_in_every_text_gets_the_models_answer(name: str) -> None:
    record = RECORDS[name]
    texts = [path for path in _paths(record) if isinstance(_at(record, path), str)]
    texts += [("note",)] if "note" in COLLECTIONS[name].schema.model_fields else []
    for path in texts:
        for char in _CONTROLS_AND_NEIGHBOURS:
            for text in (f"a{char}b", f"{char}ab", f"ab{char}", char):
                fields = _edited(record, path, "replace", text, "")
                assert _answer(name, fields) == _model_answer(name, fields), (path, text)


def _at(record: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        record = record[step]
    return record


# The text-only path (`text_records`): what it accepts is the model's dump, to the letter.

_DATETIME_LIKE = re.compile(r"^\d{4}-\d\d-\d\dT")
_DAY_LIKE = re.compile(r"^\d{4}-\d\d-\d\d$")
_UUID_LIKE = re.compile(r"^[0-9a-f]{8}-")


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


_DAYS = st.builds(
    lambda y, m, d: f"{y}-{m}-{d}",
    st.sampled_from([1999, 2000, 2001, 2024, 2025, 2026, 2096, 2099, 2100]),
    _two(0, 13),
    _two(0, 32),
)
_MOMENTS = st.builds(
    lambda day, sep, h, m, s, frac, off: f"{day}{sep}{h}:{m}:{s}{frac}{off}",
    _DAYS,
    st.sampled_from(["T", "T", "t", " "]),
    _two(0, 24),
    _two(0, 60),
    _two(0, 60),
    st.sampled_from(["", "", ".000000", ".000001", ".5", ".500000", ".123456", ".1234567"])
    | st.integers(0, 999_999).map(lambda n: f".{n:06d}"),
    st.sampled_from(["Z", "Z", "z", "+00:00", "-00:00", "+08:00", "-05:30", "+23:59", "+24:00"])
    | st.builds(
        lambda sign, h, m: f"{sign}{h}:{m}", st.sampled_from("+-"), _two(0, 24), _two(0, 60)
    ),
)
_UUIDS = st.uuids().flatmap(
    lambda u: st.sampled_from([str(u), str(u), str(u).upper(), u.hex, f"{{{u}}}", f"urn:uuid:{u}"])
)
_ENUMS = st.sampled_from(
    sorted(
        {str(m.value) for e in vocabulary_enums() for m in e}
        | {str(m.value).upper() for e in vocabulary_enums() for m in e}
    )
)


def _like(value: str) -> st.SearchStrategy[Any]:
    """Text of the same kind as `value` (a moment, a day, an id, a word), right or wrong."""
    if _DATETIME_LIKE.match(value):
        return _MOMENTS
    if _DAY_LIKE.match(value):
        return _DAYS
    if _UUID_LIKE.match(value):
        return _UUIDS
    return _ENUMS | _TEXT


@st.composite
def _texts(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    name = draw(st.sampled_from(sorted(RECORDS)))
    record: Any = RECORDS[name]
    texts = [path for path in _paths(record) if isinstance(_at(record, path), str)]
    for path in draw(st.lists(st.sampled_from(texts), min_size=1, max_size=3)) if texts else []:
        record = _edited(record, path, "replace", draw(_like(_at(record, path))), "")
    return name, record


def _text(name: str, fields: dict[str, Any]) -> dict[str, Any] | Exception:
    text = text_validator(COLLECTIONS[name].schema)
    if text is None:
        return ValueError("no text path")
    try:
        return text(fields)
    except Exception as exc:  # noqa: BLE001 - any refusal is the next path's to answer
        return exc


@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow])
@given(_texts())
def test_the_text_path_accepts_only_what_the_model_dumps_as_it_is(
    case: tuple[str, dict[str, Any]],
) -> None:
    name, fields = case
    text, model = _text(name, fields), _model(name, fields)
    if not isinstance(text, Exception):
        assert repr(text) == repr(model)
    assert _answer(name, fields) == _model_answer(name, fields)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_the_text_path_gives_the_models_data_for_any_edit(case: tuple[str, dict[str, Any]]) -> None:
    name, fields = case
    text = _text(name, fields)
    if not isinstance(text, Exception):
        assert repr(text) == repr(_model(name, fields))


# Those whose schema has what the text path does not derive (pydantic's own length check
# on an annotated text, the time zone check, a value of any type) take the dict path.
_NO_TEXT_PATH = {"checklist_templates", "conflicts", "school_settings", "students"}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_a_record_as_the_model_dumps_it_takes_the_text_path(name: str) -> None:
    assert (text_validator(COLLECTIONS[name].schema) is None) == (name in _NO_TEXT_PATH)
    if name in _NO_TEXT_PATH:
        return
    dumped = _model(name, dict(RECORDS[name]))
    assert not isinstance(dumped, ValidationError)
    assert repr(_text(name, dumped)) == repr(dumped)


@pytest.mark.parametrize(
    "at",
    ["2000-01-01T00:00:00+23:59", "2099-12-31T23:59:59-23:59", "2028-02-29T12:00:00.000001Z"],
)
def test_a_moment_is_bounded_by_its_own_day_on_the_text_path(at: str) -> None:
    fields = {**RECORDS["disinfection_rounds"], "completed_at": at}
    assert repr(_text("disinfection_rounds", fields)) == repr(_model("disinfection_rounds", fields))


def test_every_end_of_month_of_every_year_gets_the_models_answer_on_the_text_path() -> None:
    base = RECORDS["disinfection_rounds"]
    for year in range(1999, 2102):
        for month in range(0, 14):
            for day in (0, 1, 28, 29, 30, 31, 32):
                text = f"{year}-{month:02d}-{day:02d}"
                for fields in (
                    {**base, "round_date": text},
                    {**base, "completed_at": f"{text}T12:00:00Z"},
                ):
                    model = _model("disinfection_rounds", fields)
                    fast = _text("disinfection_rounds", fields)
                    if not isinstance(fast, Exception):
                        assert repr(fast) == repr(model), text
                    else:
                        assert isinstance(model, ValidationError), text
