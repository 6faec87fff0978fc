"""A blueprint: parsed (model.py), its steps classified (steps.py), its tracker edited (edit.py)."""

from typing import Literal

# A task's state, as its checkbox and the tracker record it (edit.task_state). Here, not in
# edit.py, so report.py's TypedDicts can name it without importing the parser: a string
# annotation there would be compiled, and the first compile() costs ~10 M instructions.
TaskState = Literal["completed", "blocked", "pending", "skipped"]
