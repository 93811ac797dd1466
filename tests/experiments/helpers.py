"""Building experiments in tests."""

from __future__ import annotations

from collections.abc import Sequence

from experiments.assignment import arm_index, hash_point
from experiments.models import Experiment
from experiments.services import ArmSpec, experiment_create


def arms(control: str = "0001", treatment: str = "0002", split: int = 50) -> list[ArmSpec]:
    return [
        ArmSpec(name="control", model_version=control, weight=split, is_control=True),
        ArmSpec(name="treatment", model_version=treatment, weight=100 - split, is_control=False),
    ]


def salt_placing(user_id: int, index: int, weights: Sequence[int]) -> str:
    """A salt that puts ``user_id`` in the arm at ``index`` (the first that does)."""
    for k in range(10_000):
        salt = f"salt-{k}"
        if arm_index(weights=weights, point=hash_point(salt=salt, user_id=user_id)) == index:
            return salt
    raise AssertionError("no salt found")


def experiment_for(user_id: int, arm: str, name: str = "hybrid-ab") -> Experiment:
    """A draft 50/50 experiment (0001 control, 0002 treatment) that puts the user in ``arm``."""
    experiment = experiment_create(name=name, arms=arms())
    experiment.salt = salt_placing(user_id, 0 if arm == "control" else 1, [50, 50])
    experiment.save(update_fields=["salt"])
    return experiment
