import numpy as np
import pytest

from sklearn_age import AgeRanges


def test_presets_match_the_design():
    assert AgeRanges("life_stages").labels.tolist() == [
        "0-5", "6-18", "19-30", "31-45", "46-65", "66+"]
    assert AgeRanges("fine").labels.tolist() == [
        "1-2", "3-5", "6-10", "11-14", "15-17", "18-22", "23-27", "28-33", "34-40",
        "41-50", "51-60", "61-70", "71-80", "81+"]


def test_binning_counts_completed_years():
    ranges = AgeRanges("life_stages")
    assert ranges.bin([0, 5.99, 6, 18.5, 19, 65.9, 66, 110]).tolist() == [
        "0-5", "0-5", "6-18", "6-18", "19-30", "46-65", "66+", "66+"]
    assert AgeRanges("fine").bin([0.4]).tolist() == ["1-2"]  # below the first bound


def test_explicit_bounds_and_labels():
    ranges = AgeRanges([0, 13, 14, 65])
    assert ranges.labels.tolist() == ["0-12", "13", "14-64", "65+"]
    assert ranges.to_index(["13", "65+"]).tolist() == [1, 3]
    assert ranges.to_index(np.array([12, 13, 70])).tolist() == [0, 1, 3]


@pytest.mark.parametrize(
    "bad, match",
    [("teens", "Unknown age range preset"), ([0, 20, 10], "strictly increasing"),
     ([0, 10, 10], "strictly increasing"), ([-1, 10], "non-negative"),
     ([5], "at least two"), ([0, 2.5], "whole years")],
)
def test_bad_ranges(bad, match):
    with pytest.raises(ValueError, match=match):
        AgeRanges(bad)


def test_unknown_label():
    with pytest.raises(ValueError, match=r"\['7-9'\] are not ranges"):
        AgeRanges("life_stages").to_index(["0-5", "7-9"])
