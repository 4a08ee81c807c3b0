"""The emulator stops in a fraction of a second on SIGTERM (`make down`, test teardown).

Upstream (`ministack.app.main`, MiniStack 1.5.33) serves with Hypercorn's default
`graceful_timeout` of 3 s, and on SIGTERM waits that long for clients' keep-alive
connections (boto3 keeps them open) before it exits: every stop of a stack cost 3 s.
Nothing in the emulator needs a graceful drain (its state is in memory and goes with it),
so the launcher sets Hypercorn's default to 0.2 s before MiniStack builds its config.
"""

from __future__ import annotations

NAME = "fast-shutdown"
GRACEFUL_TIMEOUT_SECONDS = 0.2
UPSTREAM = {
    "ministack.app.main": "aae886212adbdc544e4d253fa9ee5db1b6c690ef85b8421df796fbdc095ed4ee",
}


def apply() -> None:
    from hypercorn.config import Config

    Config.graceful_timeout = GRACEFUL_TIMEOUT_SECONDS
