"""Blueprint runner: executes Living Implementation Blueprints (README.md)."""

# The one place the version is written: pyproject.toml reads it from here (setuptools `attr:`),
# so `runner --version` needs no importlib.metadata (~50 ms of start-up).
__version__ = "0.1.0"
