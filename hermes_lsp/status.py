"""The one status the server reports (``hermes/status``): model health, work, indexing.

Model health (ready, unreachable, error) changes only with the outcome of a model call.
While an action runs, "busy" is shown over it; when nothing runs and the model is
healthy, indexing progress is shown. When the action ends, what shows again is the
health the model calls left behind, so a failed action never reads "ready".
"""

from __future__ import annotations

from typing import Literal

import attrs

Health = Literal["ready", "unreachable", "error"]


@attrs.define
class StatusBoard:
    """What the status shows, computed from health, running work and indexing."""

    health: Health = "ready"
    health_message: str = "Hermes"
    busy: list[str] = attrs.Factory(list)
    """Titles of the actions running now, oldest first."""
    indexing: str | None = None

    def model_result(self, health: Health, message: str) -> None:
        self.health, self.health_message = health, message

    def shown(self) -> tuple[str, str]:
        """(state, message) for ``hermes/status``."""
        if self.busy:
            return "busy", self.busy[-1]
        if self.health == "ready" and self.indexing:
            return "indexing", self.indexing
        return self.health, self.health_message
