"""The games: quiz rounds and their critic, the round bank, the memorisation guard, the boundary
game and live rooms. Built on engine.lm and engine.storage; never on training."""
