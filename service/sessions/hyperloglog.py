"""A HyperLogLog sketch for distinct-user counts, stored as bytes.

HyperLogLog (Flajolet, Fusy, Gandouet and Meunier, 2007) with its
linear-counting estimate for small sets. With ``PRECISION = 12`` there are
4096 one-byte registers and the relative standard error is
1.04 / sqrt(4096), about 1.6 %.

NOTE: between about 10,000 and 20,000 values, where the estimator switches
from linear counting to the raw estimate, the raw estimate is biased by a
few percent (3.2 % on one synthetic set of 10,000 values).
HyperLogLog++ removes that bias with empirical tables, which this module
does not have.

Input values are user hashes: hex HMAC-SHA256 digests, whose first 64 bits
are already uniformly distributed, so no further hashing is needed.
"""

from __future__ import annotations

import math

PRECISION = 12
REGISTERS = 1 << PRECISION
_FORMAT_VERSION = 1
_HEADER = bytes([_FORMAT_VERSION, PRECISION])
_VALUE_BITS = 64 - PRECISION
# The estimator's bias constant for 128 or more registers.
_ALPHA = 0.7213 / (1 + 1.079 / REGISTERS)


class SketchFormatError(ValueError):
    """The stored bytes are not a sketch of this version and precision."""


class HyperLogLog:
    def __init__(self, registers: bytearray | None = None) -> None:
        self.registers = registers if registers is not None else bytearray(REGISTERS)

    @classmethod
    def from_bytes(cls, data: bytes) -> HyperLogLog:
        if len(data) != len(_HEADER) + REGISTERS or data[: len(_HEADER)] != _HEADER:
            raise SketchFormatError(f"expected a version {_FORMAT_VERSION} sketch with precision {PRECISION} ({len(_HEADER) + REGISTERS} bytes), got {len(data)} bytes")
        return cls(bytearray(data[len(_HEADER) :]))

    def to_bytes(self) -> bytes:
        return _HEADER + bytes(self.registers)

    def add_hash(self, user_hash: str) -> None:
        """Add a value given as a hex digest of at least 64 bits."""
        value = int(user_hash[:16], 16)
        index = value >> _VALUE_BITS
        remainder = value & ((1 << _VALUE_BITS) - 1)
        # Position of the first 1 bit in the remaining bits, counting from 1;
        # all zeros gives the largest rank.
        rank = _VALUE_BITS - remainder.bit_length() + 1
        if rank > self.registers[index]:
            self.registers[index] = rank

    def merge(self, other: HyperLogLog) -> None:
        """Make this sketch count the union of both sets."""
        self.registers = bytearray(map(max, self.registers, other.registers))

    def estimate(self) -> int:
        harmonic = math.fsum(2.0 ** -register for register in self.registers)
        raw = _ALPHA * REGISTERS * REGISTERS / harmonic
        zeros = self.registers.count(0)
        if raw <= 2.5 * REGISTERS and zeros:
            return round(REGISTERS * math.log(REGISTERS / zeros))
        # The original large-range correction is for 32-bit hashes. With 64-bit
        # hashes, collisions matter only far beyond any number of users.
        return round(raw)
