import pytest

from metrics.catalog import METRICS
from metrics.units import KNOWN_UNITS, UnitError, convert

CASES = [
    # (value, from, to, expected)
    (1, "lb", "kg", 0.45359237),
    (1, "st", "kg", 6.35029318),
    (16, "oz", "lb", 1.0),
    (1500, "g", "kg", 1.5),
    (250, "mg", "g", 0.25),
    (212, "degF", "Cel", 100.0),
    (-40, "degF", "Cel", -40.0),
    (37, "Cel", "degF", 98.6),
    (310.15, "K", "Cel", 37.0),
    (4.184, "kJ", "kcal", 1.0),
    (1, "Cal", "kcal", 1.0),
    (1000, "cal", "kcal", 1.0),
    (1, "mi", "m", 1609.344),
    (1, "mi", "km", 1.609344),
    (3, "ft", "yd", 1.0),
    (1, "yd", "m", 0.9144),
    (0.97, "1", "%", 97.0),
    (97, "%", "1", 0.97),
    (5.5, "mmol/L", "mg/dL", 99.0858),
    (180.156, "mg/dL", "mmol/L", 10.0),
    (1500, "ms", "s", 1.5),
    (90, "min", "h", 1.5),
    (2, "h", "min", 120),
    (1, "d", "h", 24),
    (1, "/s", "/min", 60),
    (72, "count/min", "/min", 72),
    (72, "bpm", "/min", 72),
    (1, "L", "mL", 1000),
    (8, "fl_oz_us", "mL", 236.5882365),
    (1, "kPa", "mm[Hg]", 7.500615758),
    (3000, "count", "{steps}", 3000),
]


@pytest.mark.parametrize(("value", "source", "target", "expected"), CASES)
def test_conversion_table(value, source, target, expected):
    assert convert(value, source, target) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_a_temperature_difference_converts_without_the_offset():
    assert convert(1.8, "degF", "Cel", delta=True) == pytest.approx(1.0)
    assert convert(1.8, "degF", "Cel") == pytest.approx(-16.777777, rel=1e-6)


def test_unknown_units_are_rejected_with_the_reason():
    with pytest.raises(UnitError, match="unknown unit 'furlongs'"):
        convert(1, "furlongs", "m")


def test_units_of_other_dimensions_are_rejected():
    with pytest.raises(UnitError, match=r"'kg' \(mass\) cannot be converted to 'm' \(length\)"):
        convert(1, "kg", "m")
    with pytest.raises(UnitError):
        convert(5.5, "mmol/L", "g")  # only glucose concentrations convert to mg/dL


def test_every_canonical_unit_is_known():
    assert {m.unit for m in METRICS} <= KNOWN_UNITS
