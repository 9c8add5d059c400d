"""The verdicts' promised error rates, by simulation through the report's own decision code (a pinned, smaller run of benchmarks/design_simulation.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "design_simulation.py"
_spec = importlib.util.spec_from_file_location("design_simulation", _PATH)
simulation = importlib.util.module_from_spec(_spec)
sys.modules["design_simulation"] = simulation
_spec.loader.exec_module(simulation)

SIMS = 300


def scenario(name: str) -> "simulation.Scenario":
    return next(s for s in simulation.SCENARIOS if s.name == name)


@pytest.mark.parametrize("name", ["null-fixed-2", "null-sequential", "screen-null-20-2seeds"])
def test_family_wise_error_is_within_alpha(name: str) -> None:
    rates = simulation.simulate(scenario(name), SIMS, seed=1)
    assert rates.fwer <= rates.fwer_bound()  # 0.05 plus three Monte Carlo standard errors: 0.088 at 300


@pytest.mark.parametrize("name", ["margin-fixed-5", "margin-sequential"])
def test_false_equivalence_claims_are_within_alpha_at_the_margin_itself(name: str) -> None:
    # Every arm differs by exactly δ; intervals at Holm's own levels let 0.119 (fixed) and 0.074
    # (sequential) of ablations call one of them "no effect beyond ±δ".
    rates = simulation.simulate(scenario(name), 200, seed=1)
    assert rates.equivalence_fwer <= rates.fwer_bound()


def test_without_correction_the_same_simulation_finds_the_inflation() -> None:
    # Seven comparisons at α = 0.05 each: about 1 − 0.95^7 ≈ 0.3 minus their correlation through the shared baseline.
    rates = simulation.simulate(scenario("null-uncorrected"), SIMS, seed=1)
    assert rates.fwer > 0.12


def test_sequential_seeds_spend_fewer_runs_where_effects_are_large() -> None:
    fixed = simulation.simulate(scenario("half-large-fixed-5"), 40, seed=2)
    sequential = simulation.simulate(scenario("half-large-sequential"), 40, seed=2)
    assert sequential.runs < 0.85 * fixed.runs
    assert sequential.power > 0.9


@pytest.mark.parametrize("name", ["mde-2arms-2seeds", "mde-8arms-3seeds-arm"])
def test_an_effect_the_size_of_the_mde_is_found_with_the_promised_power(name: str) -> None:
    # 1 and 2 degrees of freedom, where the shortcut t₁₋γ/₂ + t₀.₈ the MDE used to be gave 0.73 and 0.70.
    rates = simulation.simulate(scenario(name), 1000, seed=1)
    low, high = rates.power_band()
    assert low <= rates.power <= high  # 0.8 ∓ 0.038 at 1000 simulations
