"""The HyperLogLog sketch: error bound on fixed synthetic sets, merging and the stored form."""

from __future__ import annotations

import hashlib
import math

import pytest

from service.sessions.hyperloglog import REGISTERS, HyperLogLog, SketchFormatError

# 1.04 / sqrt(m): the relative standard error of HyperLogLog with m registers.
STANDARD_ERROR = 1.04 / math.sqrt(REGISTERS)


def user_hash(index: int, salt: str = "set") -> str:
    return hashlib.sha256(f"{salt}-{index}".encode()).hexdigest()


def sketch_of(hashes: list[str]) -> HyperLogLog:
    sketch = HyperLogLog()
    for value in hashes:
        sketch.add_hash(value)
    return sketch


@pytest.mark.parametrize("size", [1000, 5000, 10_000, 50_000, 200_000])
def test_estimate_within_three_standard_errors(size: int) -> None:
    estimate = sketch_of([user_hash(index) for index in range(size)]).estimate()

    assert abs(estimate - size) / size <= 3 * STANDARD_ERROR


def test_root_mean_square_error_near_theory() -> None:
    size = 20_000
    errors = [(sketch_of([user_hash(index, f"salt-{salt}") for index in range(size)]).estimate() - size) / size for salt in range(20)]

    root_mean_square = math.sqrt(sum(error * error for error in errors) / len(errors))

    assert root_mean_square <= 1.25 * STANDARD_ERROR


@pytest.mark.parametrize("size", [0, 1, 10, 100])
def test_small_sets_nearly_exact(size: int) -> None:
    estimate = sketch_of([user_hash(index) for index in range(size)]).estimate()

    assert abs(estimate - size) <= max(1, size // 50)


def test_repeated_values_count_once() -> None:
    values = [user_hash(index) for index in range(500)]

    assert sketch_of(values * 3).estimate() == sketch_of(values).estimate()


def test_merge_equals_sketch_of_union() -> None:
    first = [user_hash(index) for index in range(0, 6000)]
    second = [user_hash(index) for index in range(4000, 12_000)]
    merged = sketch_of(first)

    merged.merge(sketch_of(second))

    assert merged.registers == sketch_of(first + second).registers


def test_bytes_round_trip() -> None:
    sketch = sketch_of([user_hash(index) for index in range(3000)])

    restored = HyperLogLog.from_bytes(sketch.to_bytes())

    assert restored.registers == sketch.registers
    assert len(sketch.to_bytes()) == REGISTERS + 2


@pytest.mark.parametrize("data", [b"", b"\x01\x0c" + bytes(10), b"\x02\x0c" + bytes(REGISTERS), b"\x01\x0e" + bytes(REGISTERS)])
def test_foreign_bytes_rejected(data: bytes) -> None:
    with pytest.raises(SketchFormatError):
        HyperLogLog.from_bytes(data)
