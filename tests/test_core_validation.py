"""core.validation: the whole-number checks every service uses on loosely typed input."""

import pytest

from core.validation import is_positive_int, is_whole_number


@pytest.mark.parametrize("value", [True, False, 2.0, "2", None, [2]])
def test_only_ints_are_whole_numbers(value):
    assert not is_whole_number(value)
    assert not is_positive_int(value)


def test_bounds_are_inclusive():
    assert is_whole_number(-3)
    assert is_whole_number(0, minimum=0) and not is_whole_number(-1, minimum=0)
    assert is_whole_number(5, minimum=1, maximum=5) and not is_whole_number(6, maximum=5)
    assert is_positive_int(1) and not is_positive_int(0)
