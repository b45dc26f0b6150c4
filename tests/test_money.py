from decimal import Decimal

import pytest

from portal.money import (
    MoneyError,
    cents_to_micros,
    format_money,
    from_micros,
    micros_to_cents,
    scale_micros,
    to_micros,
)


def test_to_micros_is_exact_and_refuses_sub_micro_digits():
    assert to_micros("0.0205") == 20_500
    assert to_micros(Decimal("25.00")) == 25_000_000
    with pytest.raises(MoneyError, match="more than six decimal places"):
        to_micros("0.0000001")
    with pytest.raises(MoneyError):
        to_micros("ten")
    with pytest.raises(MoneyError):
        to_micros("NaN")


def test_cents_round_trip_and_refuse_fractions_of_a_cent():
    assert micros_to_cents(cents_to_micros(1234)) == 1234
    with pytest.raises(MoneyError):
        micros_to_cents(1)


def test_scale_micros_rounds_half_up():
    # 1,000 tokens at $3 per million tokens.
    assert scale_micros(1000, 3_000_000, 1_000_000) == 3000
    # Half a micro rounds up; just under half rounds down.
    assert scale_micros(1, 500_000, 1_000_000) == 1
    assert scale_micros(1, 499_999, 1_000_000) == 0


def test_format_money():
    assert format_money(1_234_500_000) == "$1,234.50"
    assert format_money(-20_500, places=4) == "-$0.0205"
    assert from_micros(20_500) == Decimal("0.0205")


def test_format_money_never_shows_a_non_zero_amount_as_zero():
    assert format_money(-3_010) == "-$0.003"
    assert format_money(4) == "$0.000004"
    assert format_money(0) == "$0.00"
