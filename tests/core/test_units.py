"""Reading quantities as technicians type them, and printing them as a lab writes them."""

from __future__ import annotations

import math

import pint
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lottrack.kernel.errors import ValidationError
from lottrack.kernel.unit_names import ureg
from lottrack.kernel.units import (
    MAX_INPUT_LENGTH,
    Dim,
    format_quantity,
    format_quantity_range,
    parse_quantity,
)

# --- what technicians type -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dim", "expected"),
    [
        ("1.2e6/mL", Dim.CONCENTRATION, 1.2e6),
        ("1.2 x 10^6 cells/mL", Dim.CONCENTRATION, 1.2e6),
        ("1.2×10⁶ /mL", Dim.CONCENTRATION, 1.2e6),
        ("1.2 × 10^6/mL", Dim.CONCENTRATION, 1.2e6),
        ("1.2·10⁶ cells/mL", Dim.CONCENTRATION, 1.2e6),
        ("1.2e6 cells per mL", Dim.CONCENTRATION, 1.2e6),
        ("1200 cells/µL", Dim.CONCENTRATION, 1.2e6),
        ("120e6 cells", Dim.CELLS, 1.2e8),
        ("1.2E8", Dim.CELLS, 1.2e8),
        ("1.2e8 cells", Dim.CELLS, 1.2e8),
        ("10⁶ cells", Dim.CELLS, 1e6),
        ("70 kg", Dim.MASS, 70.0),
        ("70kg", Dim.MASS, 70.0),
        ("154 lb", Dim.MASS, 69.85322498),
        ("154 lbs", Dim.MASS, 69.85322498),
        ("70000 g", Dim.MASS, 70.0),
        ("50 mL", Dim.VOLUME, 50.0),
        ("50 ml", Dim.VOLUME, 50.0),
        ("0.1 L", Dim.VOLUME, 100.0),
        ("250 µL", Dim.VOLUME, 0.25),  # U+00B5 micro sign
        ("250 μL", Dim.VOLUME, 0.25),  # U+03BC Greek mu
        ("250 uL", Dim.VOLUME, 0.25),
        ("95 %", Dim.FRACTION, 95.0),
        ("95%", Dim.FRACTION, 95.0),
        ("95 percent", Dim.FRACTION, 95.0),
        ("175 cm2", Dim.AREA, 175.0),
        ("175 cm²", Dim.AREA, 175.0),
        ("175 cm^2", Dim.AREA, 175.0),
        ("0.5 EU/mL", Dim.ENDOTOXIN_CONC, 0.5),
        ("0.5 EU/ml", Dim.ENDOTOXIN_CONC, 0.5),
        ("1.5e6 cells/kg", Dim.DOSE, 1.5e6),
        ("1.5e6/kg", Dim.DOSE, 1.5e6),
        ("72 h", Dim.DURATION, 72.0),
        ("3 days", Dim.DURATION, 72.0),
        ("90 min", Dim.DURATION, 1.5),
        ("  70 kg  ", Dim.MASS, 70.0),
        ("70\u00a0kg", Dim.MASS, 70.0),
    ],
)
def test_accepts_lab_notation(text: str, dim: Dim, expected: float) -> None:
    parsed = parse_quantity(text, "Field", dim)
    assert parsed.value == expected
    assert parsed.unit == dim.symbol
    assert parsed.text == text
    assert parsed.field == "Field"


def test_per_ml_alone_means_cells_per_ml_but_only_for_a_cell_field() -> None:
    assert parse_quantity("1.2e6/mL", "Concentration", Dim.CONCENTRATION).value == 1.2e6
    with pytest.raises(ValidationError, match='"5/mL" is a number per volume; expected a mass'):
        parse_quantity("5/mL", "Weight", Dim.MASS)


def test_bare_number_is_a_cell_count_but_not_a_weight_or_percentage() -> None:
    assert parse_quantity("1.2e8", "Viable cells", Dim.CELLS).value == 1.2e8
    with pytest.raises(ValidationError, match='Weight: "70" has no unit; expected a mass'):
        parse_quantity("70", "Weight", Dim.MASS)
    with pytest.raises(ValidationError, match='"0.95" has no unit; expected a percentage'):
        parse_quantity("0.95", "Viability", Dim.FRACTION)


def test_bare_number_allowed_when_the_field_says_so() -> None:
    assert parse_quantity("1e6", "Min", Dim.DOSE, unit_required=False).value == 1e6
    parsed = parse_quantity("80", "Viability", Dim.FRACTION, unit_required=False)
    assert parsed.value == 80.0
    weight = parse_quantity("154", "Weight", Dim.MASS, unit_required=False, default_unit="lb")
    assert weight.value == 69.85322498


# --- decimal separator -----------------------------------------------------------------


def test_decimal_comma_only_where_the_site_uses_it() -> None:
    assert parse_quantity("1,2E6", "Cells", Dim.CELLS, decimal_separator=",").value == 1.2e6
    assert parse_quantity("69,9 kg", "Weight", Dim.MASS, decimal_separator=",").value == 69.9
    with pytest.raises(
        ValidationError,
        match='"1,2E6" has "," inside the number; decimals are written with "." here',
    ):
        parse_quantity("1,2E6", "Cells", Dim.CELLS)


@pytest.mark.parametrize("text", ["70.5 kg", "1.200.000 cells", "1.200 kg"])
def test_full_stop_is_refused_at_a_decimal_comma_site(text: str) -> None:
    # Neither read as a decimal point nor as a thousands separator: either reading could
    # be the wrong one by a factor of 1000.
    with pytest.raises(
        ValidationError,
        match='has "." inside the number; decimals are '
        'written with "," here and digits are not grouped',
    ):
        parse_quantity(
            text, "Weight", Dim.MASS if "kg" in text else Dim.CELLS, decimal_separator=","
        )


@pytest.mark.parametrize("text", ["1,200 cells", "1,200,000 cells", "1 200 000 cells"])
def test_grouped_digits_are_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="inside the number"):
        parse_quantity(text, "Cells", Dim.CELLS)


def test_examples_in_messages_use_the_site_separator() -> None:
    with pytest.raises(ValidationError, match="such as 1,2e6 cells/mL"):
        parse_quantity("12 kg", "Concentration", Dim.CONCENTRATION, decimal_separator=",")


# --- refusals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dim", "message"),
    [
        (
            "70 mL",
            Dim.MASS,
            'Weight: "70 mL" is a volume; expected a mass such as 70 kg or 154 lb.',
        ),
        (
            "1.2e6 cells/mL",
            Dim.MASS,
            'Weight: "1.2e6 cells/mL" is a concentration; expected a mass such as 70 kg or 154 lb.',
        ),
        ("70 m", Dim.MASS, 'Weight: "70 m" is a length; expected a mass'),
        (
            "-70 kg",
            Dim.MASS,
            'Weight: "-70 kg" is negative; expected a mass greater than zero such as 70 kg',
        ),
        ("−70 kg", Dim.MASS, 'Weight: "−70 kg" is negative'),
        (
            "0 kg",
            Dim.MASS,
            'Weight: "0 kg" is zero; expected a mass greater than zero such as 70 kg or 154 lb.',
        ),
        ("0.0 mL", Dim.VOLUME, '"0.0 mL" is zero; expected a volume greater than zero'),
        ("0", Dim.CELLS, '"0" is zero; expected a cell count greater than zero'),
        ("120 %", Dim.FRACTION, '"120 %" is above 100 %; expected a percentage'),
        ("100.1%", Dim.FRACTION, '"100.1%" is above 100 %'),
        ("-5 %", Dim.FRACTION, '"-5 %" is negative; expected a percentage'),
        ("95 rad", Dim.FRACTION, '"95 rad" is not a percentage'),
        ("nan kg", Dim.MASS, '"nan kg" is not a finite number'),
        ("NaN", Dim.CELLS, '"NaN" is not a finite number'),
        ("inf cells", Dim.CELLS, '"inf cells" is not a finite number'),
        ("-Infinity", Dim.CELLS, "is not a finite number"),
        ("1e400 cells", Dim.CELLS, '"1e400 cells" is too large'),
        ("1 x 10^99999999999 cells", Dim.CELLS, "is too large"),
        ("1e308 cells/uL", Dim.CONCENTRATION, "is too large"),
        ("1e-400 cells", Dim.CELLS, "is too small to be told from zero"),
        ("", Dim.MASS, 'Weight: "" is empty; expected a mass such as 70 kg'),
        ("   \t ", Dim.MASS, "is empty"),
        ("kg", Dim.MASS, '"kg" does not start with a number'),
        ("seventy kg", Dim.MASS, "does not start with a number"),
        ("70 Kg", Dim.MASS, '"70 Kg" has an unknown unit "Kg"'),
        ("50 ML", Dim.VOLUME, '"50 ML" uses "ML" (megaliter), a unit not accepted here'),
        ("70 kg\x00", Dim.MASS, r'"70 kg\x00" contains control or invisible characters'),
        ("70\u200bkg", Dim.MASS, "contains control or invisible characters"),
        ("1.2e6 cells//mL", Dim.CONCENTRATION, "is not a number followed by a unit"),
        ("70 kg/", Dim.MASS, "is not a number followed by a unit"),
        ("70 cm999", Dim.AREA, "impossible unit power"),
        ("1.2e6 /mL", Dim.CELLS, '"1.2e6 /mL" is a concentration; expected a cell count'),
        ("5 EU/kg", Dim.ENDOTOXIN_CONC, "expected an endotoxin concentration such as 0.5 EU/mL"),
        ("70 degC", Dim.MASS, "is a temperature"),
        ("1.5e6 cells/mL", Dim.DOSE, "is a concentration; expected a dose per body weight"),
    ],
)
def test_refusals_name_the_field_quote_the_text_and_say_what_was_expected(
    text: str, dim: Dim, message: str
) -> None:
    field = "Weight"
    with pytest.raises(ValidationError) as caught:
        parse_quantity(text, field, dim)
    assert message.replace("Weight: ", "") in caught.value.message
    assert caught.value.message.startswith("Weight: ")
    assert caught.value.field == field
    assert "expected" in caught.value.message


def test_zero_is_accepted_where_the_field_allows_it() -> None:
    assert parse_quantity("0 EU/mL", "Endotoxin", Dim.ENDOTOXIN_CONC, allow_zero=True).value == 0
    assert parse_quantity("0 %", "CD45", Dim.FRACTION, allow_zero=True).value == 0
    with pytest.raises(ValidationError, match="negative"):
        parse_quantity("-0.1 %", "CD45", Dim.FRACTION, allow_zero=True)


def test_overlong_input_is_refused_with_a_short_quote() -> None:
    text = "1" * (MAX_INPUT_LENGTH + 1) + " cells"
    with pytest.raises(ValidationError) as caught:
        parse_quantity(text, "Cells", Dim.CELLS)
    assert f"is {len(text)} characters long (at most {MAX_INPUT_LENGTH})" in caught.value.message
    assert len(caught.value.message) < 200


def test_not_a_string_is_refused() -> None:
    with pytest.raises(ValidationError, match="Weight: None is not text"):
        parse_quantity(None, "Weight", Dim.MASS)  # type: ignore[arg-type]


# --- nothing but ValidationError escapes -------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "1",
        "0",
        "-",
        "+",
        ".",
        ",",
        "e",
        "E",
        "e-",
        "e+",
        "x",
        "×",
        "*",
        "**",
        "^",
        "10",
        "⁶",
        "⁻",
        "²",
        "/",
        "//",
        " ",
        "  ",
        "(",
        ")",
        "%",
        "mL",
        "ml",
        "µL",
        "μL",
        "L",
        "kg",
        "lb",
        "g",
        "cells",
        "cell",
        "per",
        "EU",
        "cm",
        "cm2",
        "cm²",
        "h",
        "min",
        "degC",
        "ML",
        "nan",
        "inf",
        "1e308",
        "9" * 30,
        "1e-320",
        "·",
        "\x00",
        "\n",
        "\u200b",
        "−",
        "_",
        "π",
        "½",
        "__import__('os')",
        "1/0",
        "0/0",
        "[",
        "]",
        "{",
        "'",
        '"',
        "\\",
        "#",
        "@",
        "ℓ",
        "Ω",
    ]
)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    text=st.text(),
    dim=st.sampled_from(list(Dim)),
    sep=st.sampled_from([".", ","]),
    allow_zero=st.booleans(),
)
def test_any_text_parses_or_is_refused(text: str, dim: Dim, sep: str, allow_zero: bool) -> None:
    _parse_or_refuse(text, dim, sep, allow_zero)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    parts=st.lists(
        st.one_of(
            _FRAGMENTS,
            st.floats(allow_nan=True).map(repr),
            st.integers().map(str),
            st.text(max_size=3),
        ),
        max_size=8,
    ),
    dim=st.sampled_from(list(Dim)),
    sep=st.sampled_from([".", ","]),
)
def test_number_unit_garbage_mixtures_parse_or_are_refused(
    parts: list[str], dim: Dim, sep: str
) -> None:
    _parse_or_refuse("".join(parts), dim, sep, False)


def _parse_or_refuse(text: str, dim: Dim, sep: str, allow_zero: bool) -> None:
    try:
        parsed = parse_quantity(text, "Field", dim, decimal_separator=sep, allow_zero=allow_zero)
    except ValidationError as exc:
        message = exc.message
    else:
        # Whatever was accepted is a usable value in the canonical unit.
        assert math.isfinite(parsed.value)
        assert parsed.value > 0 or (allow_zero and parsed.value == 0)
        if dim is Dim.FRACTION:
            assert parsed.value <= 100
        return
    assert message.startswith("Field: ")
    assert "expected" in message
    assert "\n" not in message


# --- printing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "dim", "text"),
    [
        (1.717887757e6, Dim.DOSE, "1.72 × 10⁶ cells/kg"),
        (69.85322498, Dim.MASS, "69.9 kg"),
        (92.5, Dim.FRACTION, "92.5 %"),
        (1.2e8, Dim.CELLS, "1.20 × 10⁸ cells"),
        (50.0, Dim.VOLUME, "50 mL"),
        (100.0, Dim.VOLUME, "100 mL"),
        (0.25, Dim.ENDOTOXIN_CONC, "0.25 EU/mL"),
        (0.0005, Dim.ENDOTOXIN_CONC, "5.00 × 10⁻⁴ EU/mL"),
        (175.0, Dim.AREA, "175 cm²"),
        (9.9996e5, Dim.CELLS, "1.00 × 10⁶ cells"),
        (0.0, Dim.CELLS, "0 cells"),
    ],
)
def test_format_as_a_lab_writes(value: float, dim: Dim, text: str) -> None:
    assert format_quantity(value, dim) == text


def test_format_with_decimal_comma() -> None:
    assert format_quantity(1.717887757e6, Dim.DOSE, decimal_separator=",") == "1,72 × 10⁶ cells/kg"


def test_range_rounded_inwards_stays_inside() -> None:
    assert format_quantity_range(1e6, 2e6, Dim.DOSE) == "1.00–2.00 × 10⁶ cells/kg"
    # 64.81... to 129.62... mL: printed ends must both lie inside the true range.
    assert format_quantity_range(64.8148, 129.6296, Dim.VOLUME, inward=True) == "64.9–129 mL"


_POSITIVE = st.floats(min_value=1e-6, max_value=1e15, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(
    value=_POSITIVE,
    dim=st.sampled_from([d for d in Dim if d is not Dim.FRACTION]),
    sig=st.integers(min_value=1, max_value=8),
    sep=st.sampled_from([".", ","]),
)
def test_format_then_parse_round_trips(value: float, dim: Dim, sig: int, sep: str) -> None:
    _check_round_trip(value, dim, sig, sep)


@settings(max_examples=200, deadline=None)
@given(
    value=st.floats(min_value=0.001, max_value=100.0),
    sig=st.integers(1, 6),
    sep=st.sampled_from([".", ","]),
)
def test_percentages_round_trip(value: float, sig: int, sep: str) -> None:
    _check_round_trip(value, Dim.FRACTION, sig, sep)


def _check_round_trip(value: float, dim: Dim, sig: int, sep: str) -> None:
    text = format_quantity(value, dim, sig=sig, decimal_separator=sep)
    parsed = parse_quantity(text, "Field", dim, decimal_separator=sep, allow_zero=True)
    half_unit = 0.5 * 10 ** (math.floor(math.log10(value)) - sig + 1)
    assert abs(parsed.value - value) <= half_unit * (1 + 1e-9) + abs(value) * 1e-15, text


# --- the registry ----------------------------------------------------------------------


def test_one_registry_with_cells_and_endotoxin_units() -> None:
    assert pint.get_application_registry().get() is ureg  # type: ignore[no-untyped-call]
    assert ureg.Unit("cells").dimensionality == ureg.Unit("cell").dimensionality
    assert str(ureg.Unit("cell").dimensionality) == "[cell_count]"
    # "EU" must read as endotoxin units, never as exa-enzyme-units.
    assert parse_quantity("2 EU/mL", "Endotoxin", Dim.ENDOTOXIN_CONC).value == 2.0


@pytest.mark.parametrize("dim", list(Dim))
def test_stored_unit_symbol_is_readable_by_the_registry(dim: Dim) -> None:
    assert ureg.Unit(dim.symbol) == dim.canonical_unit
