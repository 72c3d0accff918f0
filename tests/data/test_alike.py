"""sfcli.data.alike: which categories and which pool clips sound alike."""

from __future__ import annotations

import numpy as np

from sfcli.data.alike import nearest_categories, nearest_clips


def test_nearest_categories_ranks_by_cosine_within_the_allowed() -> None:
    emb = {"a": np.array([1.0, 0.0]), "b": np.array([0.9, 0.1]), "c": np.array([0.0, 1.0]), "d": np.array([1, 0.5])}
    allowed = {"a": ["b", "c", "d"], "b": ["a", "c"], "c": ["a", "b", "d", "zz"], "d": []}
    near = nearest_categories(emb, allowed, k=2)
    assert near["a"] == ["b", "d"] and near["b"] == ["a", "c"] and near["c"] == ["d", "b"] and near["d"] == []


def test_nearest_clips_rank_other_groups_by_cosine_and_pad_with_minus_one() -> None:
    sig = np.array([[1, 0], [0.99, 0.14], [0.8, 0.6], [0, 1], [0.6, 0.8]], np.float32)
    sig /= np.linalg.norm(sig, axis=1, keepdims=True)
    groups = ["x", "x", "y", "y", "z"]
    near = nearest_clips(sig, groups, k=3, block=2)  # blocks of 2 rows: the same answer as one block
    assert near.dtype == np.int32 and near.shape == (5, 3)
    assert near[0].tolist() == [2, 4, 3]  # row 1 shares row 0's group: never a neighbour
    assert near[3].tolist() == [4, 1, 0]
    assert near[4].tolist() == [2, 3, 1]
    np.testing.assert_array_equal(near, nearest_clips(sig, groups, k=3))
    assert nearest_clips(sig, ["x"] * 4 + ["y"], k=2)[4].tolist() == [2, 3]
    lonely = nearest_clips(sig[:3], ["x", "x", "y"], k=3)
    assert lonely[2].tolist() == [1, 0, -1] and lonely[0].tolist() == [2, -1, -1]


def test_nearest_clips_of_the_same_group_leave_the_clip_itself_out() -> None:
    sig = np.array([[1, 0], [0.99, 0.14], [0.8, 0.6], [0, 1], [0.6, 0.8]], np.float32)
    sig /= np.linalg.norm(sig, axis=1, keepdims=True)
    near = nearest_clips(sig, ["x", "x", "x", "y", "y"], k=3, block=2, same_group=True)
    assert near[0].tolist() == [1, 2, -1] and near[2].tolist() == [1, 0, -1]
    assert near[3].tolist() == [4, -1, -1] and near[4].tolist() == [3, -1, -1]
