"""Gates: built-in checks that decide whether a task's change may be committed.

Each gate returns :class:`GateResult` rows; ``failed`` blocks the task, ``warning``
is reported and does not block (a third-party package missing from this machine).
No gate runs a shell or a command taken from a blueprint.
"""

from __future__ import annotations

from typing import Literal

from runner.records import datarecord

GateStatus = Literal["passed", "failed", "warning"]


@datarecord(frozen=True)
class GateResult:
    gate: str
    target: str
    status: GateStatus
    detail: str = ""
    isolation: str = ""  # how the check's code was contained (the import gate runs the repo's code)

    def as_dict(self) -> dict[str, str]:
        row = {"gate": self.gate, "target": self.target, "status": self.status, "detail": self.detail}
        if self.isolation:
            row["isolation"] = self.isolation
        return row

    def line(self) -> str:
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.gate} {self.target}: {self.status}{detail}"
