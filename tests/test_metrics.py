import math

import pytest

from sklearn_age.metrics import cumulative_score, mae_per_range


def test_cumulative_score_by_hand():
    # errors 2, 7, 0, 5 -> within 5 years: 3 of 4
    assert cumulative_score([10, 20, 30, 40], [12, 27, 30, 45]) == 0.75
    assert cumulative_score([10, 20, 30, 40], [12, 27, 30, 45], threshold=1) == 0.25


def test_mae_per_range_by_hand():
    result = mae_per_range([3, 4, 20, 70], [5, 4, 30, 60], ranges="life_stages")
    assert result["0-5"] == (1.0, 2)
    assert result["19-30"] == (10.0, 1)
    assert result["66+"] == (10.0, 1)
    mae, count = result["31-45"]
    assert math.isnan(mae) and count == 0


def test_metric_input_errors():
    with pytest.raises(ValueError, match="differ in length"):
        cumulative_score([1, 2], [1])
    with pytest.raises(ValueError, match="0 sample"):
        mae_per_range([], [])
