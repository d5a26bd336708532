"""The control-character rule of names and notes, searched by a pattern, is the rule of
Unicode's categories (Cc, Cs) over every code point."""

import unicodedata

import pytest
from pydantic_core import PydanticCustomError

from shared.schemas.types import multi_line, one_line


def _refused(check: object, char: str) -> bool:
    assert callable(check)
    try:
        check(f"a{char}b")
    except PydanticCustomError as exc:
        assert exc.context == {"char": f"U+{ord(char):04X}"}
        return True
    return False


@pytest.mark.parametrize("check", [one_line, multi_line])
def test_controls_are_categories_cc_and_cs(check: object) -> None:
    allowed = {"\t", "\n"} if check is multi_line else set()
    for point in range(0x110000):
        char = chr(point)
        control = unicodedata.category(char) in ("Cc", "Cs") and char not in allowed
        if control or point < 0x3000:  # every refusal, and the common scripts in full
            assert _refused(check, char) == control, hex(point)
        elif check(char) != char:  # pragma: no cover - the assertion says which
            raise AssertionError(hex(point))
