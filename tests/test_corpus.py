"""The bucket ladder and per-file keys (jaxspec.corpus)."""

from __future__ import annotations

import jax
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from jaxspec.corpus import (
    LADDER_GRANULE,
    bucket_batch_size,
    bucket_length,
    file_key,
    name_hash,
    plan_batches,
)


@given(st.integers(0, 10_000_000))
def test_bucket_holds_the_length_with_bounded_padding(n):
    b = bucket_length(n)
    assert b >= n and b % LADDER_GRANULE == 0
    assert b <= max(1024, 1.5 * n)
    assert bucket_length(b) == b  # rungs are fixed points


def test_sixty_lengths_from_half_a_second_to_eight_fall_in_few_buckets():
    lengths = np.unique(np.geomspace(8000, 128000, 60).astype(int))
    assert len(lengths) == 60
    assert len({bucket_length(n) for n in lengths}) <= 12


@given(st.lists(st.integers(0, 400_000), max_size=80))
def test_plan_batches_covers_every_item_once_within_batch_sizes(lengths):
    batches = plan_batches(lengths)
    seen = sorted(i for _, idx in batches for i in idx)
    assert seen == list(range(len(lengths)))
    for bucket, idx in batches:
        assert 1 <= len(idx) <= bucket_batch_size(bucket)
        assert all(bucket_length(lengths[i]) == bucket for i in idx)


def test_file_keys_depend_only_on_seed_and_name():
    a = jax.random.key_data(file_key(3, "dir/clip"))
    assert np.array_equal(a, jax.random.key_data(file_key(3, "dir/clip")))
    assert not np.array_equal(a, jax.random.key_data(file_key(4, "dir/clip")))
    assert not np.array_equal(a, jax.random.key_data(file_key(3, "dir/clip2")))
    h = name_hash("dir/clip")
    manual = jax.random.fold_in(jax.random.fold_in(jax.random.key(3), h >> 32), h & 0xFFFFFFFF)
    assert np.array_equal(a, jax.random.key_data(manual))


def test_name_hashes_of_many_names_do_not_collide():
    names = [f"speaker{i % 997}/utt{i}" for i in range(200_000)]
    assert len({name_hash(n) for n in names}) == len(names)
    assert isinstance(name_hash("caf\udce9"), int)  # undecodable bytes of a file name
