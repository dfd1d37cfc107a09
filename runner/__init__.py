"""runner: a declarative, git-friendly spec runner for Runway video generation."""

__version__ = "0.1.0"
