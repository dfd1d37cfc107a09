"""The command line: parse options, call one function of the layers below, render the result."""

from runner.cli.main import main

__all__ = ["main"]
