"""Unit conversion, table-driven. Unknown units are rejected with a reason, never guessed.

Each unit belongs to one dimension and converts to that dimension's base unit as
`base = value * factor + offset`. Conversion happens only within a dimension.
"""

from dataclasses import dataclass


class UnitError(ValueError):
    """A value whose unit is unknown or cannot express the target unit."""


@dataclass(frozen=True, slots=True)
class Unit:
    dimension: str
    factor: float
    offset: float = 0.0


_LB = 0.45359237
_TABLE: dict[str, Unit] = {}


def _add(dimension: str, factor: float, *names: str, offset: float = 0.0) -> None:
    for name in names:
        assert name not in _TABLE, f"unit {name!r} defined twice"
        _TABLE[name] = Unit(dimension, factor, offset)


# mass (base kg)
_add("mass", 1.0, "kg")
_add("mass", 1e-3, "g")
_add("mass", 1e-6, "mg")
_add("mass", 1e-9, "ug", "mcg")
_add("mass", _LB, "lb", "[lb_av]", "lbs")
_add("mass", 14 * _LB, "st", "[stone_av]")
_add("mass", _LB / 16, "oz", "[oz_av]")
# length (base m)
_add("length", 1.0, "m")
_add("length", 1e3, "km")
_add("length", 1e-2, "cm")
_add("length", 1e-3, "mm")
_add("length", 1609.344, "mi", "[mi_i]")
_add("length", 0.3048, "ft", "[ft_i]")
_add("length", 0.9144, "yd", "[yd_i]")
_add("length", 0.0254, "in", "[in_i]")
# energy (base kcal); "Cal" is the food calorie (= kcal)
_add("energy", 1.0, "kcal", "Cal", "[Cal]")
_add("energy", 1e-3, "cal")
_add("energy", 1 / 4.184, "kJ")
_add("energy", 1 / 4184, "J")
# temperature (base Cel)
_add("temperature", 1.0, "Cel", "degC", "°C")
_add("temperature", 5 / 9, "degF", "[degF]", "°F", offset=-32 * 5 / 9)
_add("temperature", 1.0, "K", offset=-273.15)
# time (base s)
_add("time", 1e-3, "ms")
_add("time", 1.0, "s")
_add("time", 60.0, "min")
_add("time", 3600.0, "h", "hr")
_add("time", 86400.0, "d")
# ratio (base %); "1" and "fraction" are fractions of one
_add("ratio", 1.0, "%")
_add("ratio", 100.0, "1", "fraction")
# frequency (base /min): heart rate, respiratory rate
_add("frequency", 1.0, "/min", "count/min", "{beats}/min", "bpm", "{breaths}/min")
_add("frequency", 60.0, "/s", "Hz", "count/s")
_add("frequency", 1 / 60, "/h", "count/h")
# counts ("count" is what Apple Health and most APIs say for steps and flights)
_add("count", 1.0, "count", "{count}", "{steps}", "steps", "{flights}", "flights")
_add("score", 1.0, "{score}", "score")
# volume (base mL)
_add("volume", 1.0, "mL", "ml")
_add("volume", 1e3, "L", "l")
_add("volume", 29.5735295625, "[foz_us]", "fl_oz_us", "fl oz")
_add("volume", 236.5882365, "[cup_us]", "cup_us", "cup")
# pressure (base mm[Hg])
_add("pressure", 1.0, "mm[Hg]", "mmHg")
_add("pressure", 7.500615758, "kPa")
# blood glucose (base mg/dL); 1 mmol/L of glucose (180.156 g/mol) = 18.0156 mg/dL
_add("glucose", 1.0, "mg/dL")
_add("glucose", 18.0156, "mmol/L")
# oxygen uptake (base mL/(kg.min))
_add("vo2", 1.0, "mL/(kg.min)", "ml/(kg*min)", "mL/kg/min", "ml/kg/min")
# body mass index (base kg/m2)
_add("bmi", 1.0, "kg/m2", "kg/m^2")
# time of day-free durations used by sleep are "time" above

KNOWN_UNITS = frozenset(_TABLE)


def unit_info(name: str) -> Unit:
    try:
        return _TABLE[name]
    except KeyError:
        raise UnitError(f"unknown unit {name!r}") from None


def convert(value: float, from_unit: str, to_unit: str, *, delta: bool = False) -> float:
    """Convert `value` from one unit to another of the same dimension.

    With delta=True the value is a difference (e.g. a temperature deviation): offsets do
    not apply, only factors."""
    if from_unit == to_unit:
        return value
    source, target = unit_info(from_unit), unit_info(to_unit)
    if source.dimension != target.dimension:
        raise UnitError(
            f"unit {from_unit!r} ({source.dimension}) cannot be converted to "
            f"{to_unit!r} ({target.dimension})"
        )
    if delta:
        return value * source.factor / target.factor
    base = value * source.factor + source.offset
    return (base - target.offset) / target.factor
