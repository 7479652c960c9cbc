"""The one authorisation check for train, cancel, resume and activate, and its delay after wrong tokens."""
import pytest

from engine.auth import NotAllowed, TokenGate


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_no_configured_token_allows_everyone():
    gate = TokenGate()
    gate.check(None, None)
    gate.check("anything", "")


def test_only_the_right_token_passes():
    gate = TokenGate(clock=Clock())
    gate.check("s3cret", "s3cret")
    for wrong in (None, "", "guess", "s3cret "):
        with pytest.raises(NotAllowed, match="Wrong retrain token|try again"):
            gate.check(wrong, "s3cret")


def test_wrong_tokens_make_every_attempt_wait():
    """After wrong tokens every attempt waits, the right one too: guessing cannot go fast."""
    clock = Clock()
    gate = TokenGate(first_delay_s=2, max_delay_s=60, clock=clock)
    for _ in range(25):  # one guess a second
        with pytest.raises(NotAllowed):
            gate.check("guess", "s3cret")
        clock.now += 1
    with pytest.raises(NotAllowed, match="try again in"):
        gate.check("s3cret", "s3cret")  # even the right token waits out the delay
    assert gate.failures < 10  # most guesses were not even compared
    clock.now += 60
    gate.check("s3cret", "s3cret")
    assert gate.failures == 0


def test_the_delay_doubles_up_to_its_limit():
    clock = Clock()
    gate = TokenGate(first_delay_s=2, max_delay_s=10, clock=clock)
    delays = []
    for _ in range(5):
        with pytest.raises(NotAllowed):
            gate.check("guess", "s3cret")
        delays.append(gate.blocked_until - clock.now)
        clock.now = gate.blocked_until
    assert delays == [2, 4, 8, 10, 10]
