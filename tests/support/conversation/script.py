"""The script's shape: a conversation is a name and its turns, played in order on one World."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.support.conversation.world import RITA, Person, World
from tests.support.stack import Stack


@dataclass(frozen=True)
class Turn:
    text: str  # what happens, in the words a person would use
    run: Callable[[World], None]

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Conversation:
    name: str
    turns: tuple[Turn, ...]
    rep: Person = RITA

    def __str__(self) -> str:
        return self.name


def conversation(name: str, *turns: Turn, rep: Person = RITA) -> Conversation:
    return Conversation(name, turns, rep)


def play(script: Conversation, stack: Stack) -> None:
    """Run every turn in order; the first failure names the conversation and the turn."""
    world = World(stack, script.rep)
    for number, turn in enumerate(script.turns, start=1):
        try:
            turn.run(world)
        except Exception as exc:  # noqa: BLE001 - re-raised with where it happened
            raise AssertionError(
                f"conversation {script.name!r}, turn {number} ({turn}): {type(exc).__name__}: {exc}"
            ) from exc
