"""The buy-credits and auto top-up forms: plain amounts, named ranges."""

import pytest

from billing.forms import AutoTopUpForm, BuyCreditsForm

PLAIN_AMOUNT_ERROR = "Enter a plain amount in dollars, like 25 or 25.50."
TOP_UP = {"enabled": "on", "threshold": "5", "amount": "20", "monthly_cap": "100"}


def _buy_errors(amount: str) -> list[str]:
    form = BuyCreditsForm({"amount": amount})
    assert not form.is_valid()
    return form.errors["amount"]


@pytest.mark.parametrize("amount", ["-5", "0", "4.99", "10000.01"])
def test_buying_out_of_range_names_the_range(amount):
    assert _buy_errors(amount) == ["Enter an amount between $5 and $10,000."]


@pytest.mark.parametrize(
    "amount",
    [
        "1e3",
        "\u0661\u0660\u0660",
        "\uff11\uff10\uff10",
        "25,00",
        "NaN",
        "Infinity",
        "$25",
    ],
)
def test_buying_refuses_anything_but_a_plain_amount(amount):
    assert _buy_errors(amount) == [PLAIN_AMOUNT_ERROR]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("25.505", "Use at most two decimal places (whole cents)."),
        ("0.001", "Use at most two decimal places (whole cents)."),
        ("99999999999999999999", "That amount is far too large."),
    ],
)
def test_buying_a_plain_but_impossible_amount_says_what_is_wrong(amount, message):
    assert _buy_errors(amount) == [message]


def test_buying_out_of_range_with_many_digits_still_names_the_range():
    assert _buy_errors("123456789.34") == ["Enter an amount between $5 and $10,000."]


@pytest.mark.parametrize(
    ("amount", "micros"), [("5", 5_000_000), ("25.5", 25_500_000), ("10000.00", 10**10)]
)
def test_buying_a_plain_amount_cleans_to_micros(amount, micros):
    form = BuyCreditsForm({"amount": f" {amount} "})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == micros


@pytest.mark.parametrize("field", ["threshold", "amount", "monthly_cap"])
@pytest.mark.parametrize("value", ["1e3", "\u0665", "5%"])
def test_top_up_refuses_anything_but_a_plain_amount(field, value):
    form = AutoTopUpForm(TOP_UP | {field: value})
    assert not form.is_valid()
    assert form.errors[field] == [PLAIN_AMOUNT_ERROR]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("threshold", "-5", "Enter an amount between $0 and $10,000."),
        ("threshold", "10000.01", "Enter an amount between $0 and $10,000."),
        ("amount", "4", "Enter an amount between $5 and $10,000."),
        ("amount", "50000", "Enter an amount between $5 and $10,000."),
        ("monthly_cap", "-1", "Enter an amount between $0 and $1,000,000."),
        ("monthly_cap", "1000000000", "Enter an amount between $0 and $1,000,000."),
    ],
)
def test_top_up_out_of_range_names_the_range(field, value, message):
    form = AutoTopUpForm(TOP_UP | {field: value})
    assert not form.is_valid()
    assert form.errors[field] == [message]


def test_top_up_threshold_says_a_top_up_may_be_charged_on_save():
    help_text = AutoTopUpForm().fields["threshold"].help_text
    assert "above the current balance charges a top-up right away" in help_text


def test_amount_inputs_tell_the_browser_the_range():
    buy = BuyCreditsForm()["amount"].as_widget()
    assert 'type="number"' in buy and 'min="5"' in buy and 'max="10000"' in buy
    threshold = AutoTopUpForm()["threshold"].as_widget()
    assert 'min="0"' in threshold and 'max="10000"' in threshold
