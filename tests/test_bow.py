import numpy as np
import pytest

from sgrn.data.bow import bag_of_words, build_vocab, rows_with_tags, tag_counts

TAGS = [["sky", "sea", "sky"], ["sky", "dog"], ["sea", "sky"], [], ["cat"]]


def test_counts_are_rows_not_occurrences():
    counts = tag_counts(TAGS)
    assert counts["sky"] == 3  # the repeat in row 0 counts once
    assert counts["sea"] == 2
    assert counts["dog"] == counts["cat"] == 1


def test_build_vocab_threshold_is_inclusive_and_sorted():
    assert build_vocab(TAGS, 2) == ["sea", "sky"]
    assert build_vocab(TAGS, 3) == ["sky"]
    assert build_vocab(TAGS, 1) == ["cat", "dog", "sea", "sky"]
    assert build_vocab(TAGS, 4) == []


def test_build_vocab_refuses_min_count_below_one():
    with pytest.raises(ValueError, match="min_count"):
        build_vocab(TAGS, 0)


def test_bag_of_words_marks_vocab_tags_and_ignores_the_rest():
    vocab = ["sky", "sea", "dog"]
    bow = bag_of_words(TAGS, vocab)
    assert bow.dtype == np.uint8
    assert bow.shape == (5, 3)
    expected = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 0], [0, 0, 0], [0, 0, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(bow, expected)


def test_bag_of_words_refuses_repeated_vocab():
    with pytest.raises(ValueError, match="repeated"):
        bag_of_words(TAGS, ["sky", "sky"])


def test_rows_with_tags_flags_all_zero_rows():
    bow = bag_of_words(TAGS, ["sky", "sea"])
    mask = rows_with_tags(bow)
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, [True, True, True, False, False])
