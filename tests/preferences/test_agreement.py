import pytest

from preferences.selectors import _agreement


def test_agreement_figures_on_known_pairs():
    pairs = [(10.0, 12.0), (20.0, 19.0), (30.0, 33.0)]
    stats = _agreement(pairs)
    assert stats["days"] == 3
    assert stats["mean_difference"] == pytest.approx((2 - 1 + 3) / 3)
    assert stats["mean_absolute_difference"] == pytest.approx((2 + 1 + 3) / 3)
    assert stats["correlation"] == pytest.approx(0.9819805, rel=1e-6)


def test_no_common_days_gives_no_figures():
    assert _agreement([]) == {
        "days": 0,
        "mean_difference": None,
        "mean_absolute_difference": None,
        "correlation": None,
    }
