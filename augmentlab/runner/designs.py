"""Two-level screening designs: which factors are present in which run (``--design screen``).

A Plackett–Burman design of N runs (N a multiple of 4) gives up to N − 1 factors, each present
(+1) in half the runs and absent (−1) in the other half, every pair of columns orthogonal: each
factor's main effect is estimated from all N runs at once. Columns not given to a factor are
"spare": with one seed they estimate training noise. They carry no main effect, but in a
resolution III design they do carry two-factor interactions, which makes that estimate larger
(conservative), never smaller.

Construction:

- N = q + 1 for a prime q ≡ 3 (mod 4), Paley's construction, which Plackett and Burman (1946)
  used: the first row is the Legendre symbol of 0..q−1 modulo q (0 counted as +), each next row
  is it shifted by one, and a last row is all −. This gives N = 4, 8, 12, 20, 24, 32, 44, 48.
- N = 2M by doubling an M-run design (Sylvester): 16 = 2 × 8, 40 = 2 × 20; its columns are
  sign-flipped so that one run has every factor absent.
- The other multiples of 4 up to 48 (28, 36) are not constructed: the next size that is takes
  their place, and the plan says so.

The all-absent run is the baseline. ``--foldover`` adds the mirror of every run, which frees the
main effects from two-factor interactions (resolution IV).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from augmentlab.errors import FieldError

PALEY_PRIMES = (3, 7, 11, 19, 23, 31, 43, 47)
MAX_RUNS = 48
"""The largest design built: up to 47 factors."""


def _legendre(value: int, prime: int) -> int:
    """+1 for a nonzero square modulo ``prime`` (and for 0, as Plackett and Burman count it), −1 otherwise."""
    value %= prime
    if value == 0:
        return 1
    return 1 if pow(value, (prime - 1) // 2, prime) == 1 else -1


def _paley(prime: int) -> np.ndarray:
    first = [_legendre(j, prime) for j in range(prime)]
    rows = [first[shift:] + first[:shift] for shift in range(prime)]
    return np.array(rows + [[-1] * prime], dtype=np.int64)


def _doubled(design: np.ndarray) -> np.ndarray:
    """A design of twice the runs from ``design``: the Hadamard matrix [[H, H], [H, −H]], columns flipped so that the last run is all −."""
    hadamard = np.hstack([np.ones((len(design), 1), dtype=np.int64), design])
    doubled = np.block([[hadamard, hadamard], [hadamard, -hadamard]])
    columns = doubled[:, 1:]
    return columns * np.where(columns[-1] > 0, -1, 1)


@lru_cache(maxsize=None)
def _design(runs: int) -> np.ndarray | None:
    if runs - 1 in PALEY_PRIMES:
        return _paley(runs - 1)
    if runs % 8 == 0 and runs // 2 <= MAX_RUNS:
        half = _design(runs // 2)
        return None if half is None else _doubled(half)
    return None


def plackett_burman(factors: int) -> np.ndarray:
    """int64 ``[N, N − 1]`` of ±1: the smallest built design with more runs than ``factors``; its last row is all −1.

    Raises:
        FieldError: fewer than two factors, or more than the largest design takes.
    """
    if factors < 2:
        raise FieldError("aug", f"gives {factors} factor(s) to screen; a screening design needs two or more (a comma set such as hflip,vflip,rot90)")
    if factors > MAX_RUNS - 1:
        raise FieldError("aug", f"gives {factors} factors to screen; the largest screening design here has {MAX_RUNS} runs, for at most {MAX_RUNS - 1}")
    runs = 4 * (factors // 4 + 1)
    while _design(runs) is None:
        runs += 4
    return _design(runs).copy()


def screening_rows(factors: int, foldover: bool = False) -> np.ndarray:
    """int64 ``[runs, factors]`` of ±1, the baseline (all −1) first, then the design's other runs in order; with ``foldover``, then every run's mirror."""
    design = plackett_burman(factors)[:, :factors]
    rows = np.vstack([design[-1:], design[:-1]])
    return np.vstack([rows, -rows]) if foldover else rows
