"""``toobit-follower``: the command line of the Toobit copy-trading follower API.

A command per operation of the spec (``toobit_follower_models.operations``), each calling
:class:`toobit_follower.FollowerClient`; ``pip install 'toobit-follower[cli]'`` brings
``rich`` for the tables.
"""

from __future__ import annotations

from ._context import Context
from ._main import EXIT_CODES, build_parser, describe, exit_code_for, main, report

__all__ = ["EXIT_CODES", "Context", "build_parser", "describe", "exit_code_for", "main", "report"]
