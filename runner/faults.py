"""Fault-injection checkpoints for the crash-safety tests.

``checkpoint("after-writes")`` does nothing unless the environment variable
``BLUEPRINT_RUNNER_KILL_AT`` names that checkpoint, in which case the process
kills itself with SIGKILL, as a power cut or an OOM kill would: no cleanup,
no ``finally``. The tests then check that recovery leaves the repo either at
the state before the task or at the task's commit.
"""

from __future__ import annotations

import os
import signal

ENV = "BLUEPRINT_RUNNER_KILL_AT"
CHECKPOINTS = (
    "after-journal",
    "after-writes",
    "during-gates",
    "after-tracker-write",
    "during-commit",
    "after-commit",
)
REVERT_CHECKPOINTS = ("during-revert",)


def checkpoint(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
