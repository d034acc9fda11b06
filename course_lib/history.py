"""Per-epoch training history."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    """Per-epoch records: mean batch ``loss``, ``learning_rate``, the training loop's ``seconds``
    (evaluation excluded), and the accuracies when they were measured (empty lists otherwise)."""

    loss: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def as_dict(self) -> dict[str, list[float]]:
        return {name: list(values) for name, values in vars(self).items()}
