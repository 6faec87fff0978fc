"""The commands, one module per command or group; each returns a :class:`~runner.report.CommandReport`.

``run`` (run, done), ``revert``, ``inspect`` (status, next, lint: read-only), ``recover``,
``codemod`` (list, apply); ``session`` holds what they share (Session, lock).
"""
