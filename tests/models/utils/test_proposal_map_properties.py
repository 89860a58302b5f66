"""Property-based checks of the dense proposal map's indexing (Section 3.2.2)."""
from hypothesis import given, settings
from hypothesis import strategies as st

from etad_mmaction.models.utils import num_valid_proposals, valid_proposals


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 48), st.integers(1, 60))
def test_valid_proposals_are_exactly_the_valid_pairs_in_order(t, d):
    pairs = valid_proposals(t, d)
    got = [tuple(p) for p in pairs.tolist()]
    expected = [(s, e) for s in range(t) for e in range(s + 1, t + 1) if e - s <= d]
    assert got == expected                              # complete, unique, start-major order
    assert len(got) == num_valid_proposals(t, d)
    assert pairs.dtype.is_floating_point is False


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40))
def test_index_of_a_pair_is_recoverable(t, d):
    """The flat index of (s, e) is the number of valid pairs before it: the layout a
    sampler's indices and the cascade's gathers rely on."""
    pairs = valid_proposals(t, d).tolist()
    position = {tuple(p): i for i, p in enumerate(pairs)}
    for (s, e), i in position.items():
        before = sum(min(d, t - s2) for s2 in range(s)) + (e - s - 1)
        assert i == before
