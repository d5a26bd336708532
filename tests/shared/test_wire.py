"""The protocol-1 request messages: what they accept and what they refuse."""

from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.schemas.vocabulary import Role
from shared.schemas.wire import (
    DEFAULT_PULL_LIMIT,
    MAX_BATCH_CHANGES,
    MAX_PULL_LIMIT,
    Change,
    LoginRequest,
    PullRequest,
    PushRequest,
    UserCreate,
    UserUpdate,
)

DEVICE_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


def _login(**changes: Any) -> dict[str, Any]:
    return {
        "username": "wang.laoshi",
        "password": "correct horse battery",
        "device_id": "phone-7f3a",
        "device_name": "王老师的手机",
        **changes,
    }


def _change(**changes: Any) -> dict[str, Any]:
    return {
        "change_id": str(uuid4()),
        "collection": "disinfection_rounds",
        "record_id": str(uuid4()),
        "hlc": "1764404130123-000000-phone-7f3a",
        "base_seq": 1234,
        "fields": {"items.wipe_desks": {"done": True, "at": "2026-11-29T08:15:30Z", "note": ""}},
        "deleted": False,
        **changes,
    }


def test_protocol_limits() -> None:
    assert MAX_BATCH_CHANGES == 1000
    assert MAX_PULL_LIMIT == 5000
    assert DEFAULT_PULL_LIMIT == 500


@pytest.mark.parametrize(
    "username", ["王老师", "wang.laoshi", "li_ming-2", "counselor@school.cn", "张三丰3", "a"]
)
def test_login_accepts_usernames_people_type(username: str) -> None:
    request = LoginRequest.model_validate(_login(username=username))
    assert request.username == username
    assert request.device_name == "王老师的手机"


def test_login_username_is_stripped() -> None:
    assert LoginRequest.model_validate(_login(username="  王老师 ")).username == "王老师"


@pytest.mark.parametrize(
    "username", ["王 老师", "wang laoshi", "", "   ", "wang/li", "wang;drop", "a" * 65, "x\ny"]
)
def test_login_refuses_bad_usernames(username: str) -> None:
    with pytest.raises(ValidationError):
        LoginRequest.model_validate(_login(username=username))


def test_login_refuses_unknown_keys() -> None:
    with pytest.raises(ValidationError) as info:
        LoginRequest.model_validate(_login(remember_me=True))
    assert info.value.errors()[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize("missing", ["username", "password", "device_id", "device_name"])
def test_login_requires_every_key(missing: str) -> None:
    body = _login()
    del body[missing]
    with pytest.raises(ValidationError):
        LoginRequest.model_validate(body)


@pytest.mark.parametrize(
    "device_id", ["phone-7f3a", "A", "tablet_02", "x" * 64, "0123456789", "-_-"]
)
def test_login_accepts_good_device_ids(device_id: str) -> None:
    assert LoginRequest.model_validate(_login(device_id=device_id)).device_id == device_id


@pytest.mark.parametrize(
    "device_id",
    ["", "x" * 65, "phone 7f3a", "phone.7f3a", "手机", "phone/1", "abc\n", " abc", "a:b", "é"],
)
def test_login_refuses_bad_device_ids(device_id: str) -> None:
    with pytest.raises(ValidationError):
        LoginRequest.model_validate(_login(device_id=device_id))


@settings(max_examples=50, deadline=None)
@given(device_id=st.text(alphabet=DEVICE_ID_ALPHABET, min_size=1, max_size=64))
def test_any_well_formed_device_id_accepted(device_id: str) -> None:
    assert LoginRequest.model_validate(_login(device_id=device_id)).device_id == device_id


@settings(max_examples=50, deadline=None)
@given(
    prefix=st.text(alphabet=DEVICE_ID_ALPHABET, max_size=10),
    bad=st.characters(blacklist_characters=DEVICE_ID_ALPHABET),
    suffix=st.text(alphabet=DEVICE_ID_ALPHABET, max_size=10),
)
def test_device_id_with_any_other_character_refused(prefix: str, bad: str, suffix: str) -> None:
    with pytest.raises(ValidationError):
        PullRequest.model_validate({"device_id": f"{prefix}{bad}{suffix}"})


def test_login_refuses_empty_password_and_long_device_name() -> None:
    with pytest.raises(ValidationError):
        LoginRequest.model_validate(_login(password=""))
    with pytest.raises(ValidationError):
        LoginRequest.model_validate(_login(device_name="机" * 101))
    with pytest.raises(ValidationError):
        LoginRequest.model_validate(_login(device_name="   "))


def test_change_parses_the_protocol_example() -> None:
    change = Change.model_validate(_change())
    assert change.base_seq == 1234
    assert change.deleted is False
    assert change.fields["items.wipe_desks"]["done"] is True


def test_change_defaults() -> None:
    body = _change()
    for key in ("base_seq", "fields", "deleted"):
        del body[key]
    change = Change.model_validate(body)
    assert change.base_seq is None
    assert change.fields == {}
    assert change.deleted is False
    assert Change.model_validate(_change(base_seq=None)).base_seq is None
    assert Change.model_validate(_change(base_seq=0)).base_seq == 0


@pytest.mark.parametrize("change_id", ["not-a-uuid", "", "1234", "g" * 32, None])
def test_change_refuses_non_uuid_change_id(change_id: Any) -> None:
    with pytest.raises(ValidationError):
        Change.model_validate(_change(change_id=change_id))


def test_change_refuses_non_uuid_record_id() -> None:
    with pytest.raises(ValidationError):
        Change.model_validate(_change(record_id="room-101"))


@pytest.mark.parametrize("base_seq", [-1, -1000, "abc", 1.5])
def test_change_refuses_bad_base_seq(base_seq: Any) -> None:
    with pytest.raises(ValidationError):
        Change.model_validate(_change(base_seq=base_seq))


def test_change_refuses_unknown_keys_and_oversized_names() -> None:
    with pytest.raises(ValidationError):
        Change.model_validate(_change(author="王老师"))
    with pytest.raises(ValidationError):
        Change.model_validate(_change(collection="c" * 65))
    with pytest.raises(ValidationError):
        Change.model_validate(_change(hlc="1" * 101))


def test_push_accepts_a_full_batch() -> None:
    changes = [_change() for _ in range(MAX_BATCH_CHANGES)]
    push = PushRequest.model_validate({"device_id": "phone-7f3a", "changes": changes})
    assert len(push.changes) == 1000
    assert PushRequest.model_validate({"device_id": "phone-7f3a", "changes": []}).changes == []


def test_push_refuses_unknown_keys_and_bad_device() -> None:
    with pytest.raises(ValidationError):
        PushRequest.model_validate({"device_id": "phone-7f3a", "changes": [], "since": 3})
    with pytest.raises(ValidationError):
        PushRequest.model_validate({"device_id": "phone 7f3a", "changes": []})
    with pytest.raises(ValidationError):
        PushRequest.model_validate({"device_id": "phone-7f3a"})


def test_pull_defaults() -> None:
    pull = PullRequest.model_validate({"device_id": "phone-7f3a"})
    assert pull.cursor is None
    assert pull.limit == DEFAULT_PULL_LIMIT
    assert PullRequest.model_validate({"device_id": "d", "cursor": None, "limit": 500}).limit == 500


@pytest.mark.parametrize("limit", [1, 500, 5000, 5001, 100_000])
def test_pull_accepts_large_limits(limit: int) -> None:
    # The protocol treats a larger limit as 5,000: it must not be refused.
    pull = PullRequest.model_validate({"device_id": "phone-7f3a", "limit": limit})
    assert pull.limit == limit


@pytest.mark.parametrize("limit", [0, -1, "many"])
def test_pull_refuses_non_positive_limit(limit: Any) -> None:
    with pytest.raises(ValidationError):
        PullRequest.model_validate({"device_id": "phone-7f3a", "limit": limit})


def test_pull_refuses_unknown_keys_and_long_cursor() -> None:
    with pytest.raises(ValidationError):
        PullRequest.model_validate({"device_id": "phone-7f3a", "since": 0})
    with pytest.raises(ValidationError):
        PullRequest.model_validate({"device_id": "phone-7f3a", "cursor": "c" * 20_001})


def _user(**changes: Any) -> dict[str, Any]:
    return {
        "username": "李老师",
        "display_name": "李红",
        "role": "class_teacher",
        "password": "12345678",
        **changes,
    }


def test_user_create_accepts_eight_character_passwords() -> None:
    user = UserCreate.model_validate(_user())
    assert user.role is Role.CLASS_TEACHER
    assert (
        UserCreate.model_validate(_user(password="八个字的中文密码")).password == "八个字的中文密码"
    )


@pytest.mark.parametrize("password", ["", "1234567", "short", "七个字的密码"])
def test_user_create_refuses_short_passwords(password: str) -> None:
    with pytest.raises(ValidationError):
        UserCreate.model_validate(_user(password=password))


def test_user_create_refuses_unknown_role_and_keys() -> None:
    with pytest.raises(ValidationError):
        UserCreate.model_validate(_user(role="principal"))
    with pytest.raises(ValidationError):
        UserCreate.model_validate(_user(active=True))
    with pytest.raises(ValidationError):
        UserCreate.model_validate(_user(display_name="李" * 51))


def test_user_update_password_rule_and_partial() -> None:
    assert UserUpdate.model_validate({}).password is None
    assert UserUpdate.model_validate({"active": False}).active is False
    with pytest.raises(ValidationError):
        UserUpdate.model_validate({"password": "1234567"})
