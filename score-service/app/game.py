"""The task's game: a match as a list of score stamps, and get_score over it.

Kept in the task's style (its constants, plain functions, stamps as plain dicts) with the
nuances a careful reader notices fixed; README.md "## Score service" lists them.

A stamp is ``{"offset": int, "score": {"home": int, "away": int}}``. A game starts with a
copy of INITIAL_STAMP, offsets grow by 1 to 3 per stamp and scores never decrease.
"""

import copy
import math
import random
from bisect import bisect_right
from operator import itemgetter

TIMESTAMPS_COUNT = 50000

PROBABILITY_SCORE_CHANGED = 0.0001

PROBABILITY_HOME_SCORE = 0.45

OFFSET_MAX_STEP = 3

INITIAL_STAMP = {
    "offset": 0,
    "score": {
        "home": 0,
        "away": 0,
    },
}

# The key get_score bisects on: a C-level getter, so the search calls no Python code.
_stamp_offset = itemgetter("offset")


def generate_stamp(previous_value, rng=random):
    """Return the stamp that follows ``previous_value``: a new dict, the previous one untouched.

    ``rng`` is anything with a ``random()`` method: the ``random`` module (the task's
    behaviour) or a ``random.Random`` for a reproducible game.
    """
    # `random() > 1 - p` is the task's way to say "with probability p" (1 - p is rounded,
    # so the chance is p to about 1e-16). Kept as written so that a seed yields the task's
    # very sequence. The home draw happens only when the score changed (`and` short-cuts):
    # a change is a home goal with 0.45 and an away goal otherwise (0.55), never both.
    score_changed = rng.random() > 1 - PROBABILITY_SCORE_CHANGED
    home_score_change = 1 if score_changed and rng.random() > 1 - PROBABILITY_HOME_SCORE else 0
    away_score_change = 1 if score_changed and not home_score_change else 0
    # 1, 2 or 3, evenly: most offsets of a game have no stamp of their own.
    offset_change = math.floor(rng.random() * OFFSET_MAX_STEP) + 1

    return {
        "offset": previous_value["offset"] + offset_change,
        "score": {
            "home": previous_value["score"]["home"] + home_score_change,
            "away": previous_value["score"]["away"] + away_score_change,
        },
    }


def generate_game(rng=None, stamps_count=TIMESTAMPS_COUNT):
    """Return a new game: a copy of INITIAL_STAMP followed by ``stamps_count`` stamps.

    So a game holds ``stamps_count + 1`` stamps (50,001 by default, as in the task).
    ``rng`` is a ``random.Random`` or a seed (int) for a reproducible game; None uses the
    ``random`` module's shared generator, as the task does. Nothing is generated at import:
    the task's module built and pprinted 50,000 stamps as a side effect of being imported.
    """
    if rng is None:
        rng = random
    elif not isinstance(rng, random.Random):
        rng = random.Random(rng)  # noqa: S311 (a simulation, not cryptography)

    # A deep copy: the task put INITIAL_STAMP itself into every game, so mutating a game's
    # first stamp (or its score dict) changed the constant and every later game.
    current_stamp = copy.deepcopy(INITIAL_STAMP)
    stamps = [current_stamp]
    for _ in range(stamps_count):
        current_stamp = generate_stamp(current_stamp, rng)
        stamps.append(current_stamp)

    return stamps


def get_score(game_stamps, offset):
    """
    Takes list of game's stamps and time offset for which returns the scores for the home and away teams.
    Please pay attention to that for some offsets the game_stamps list may not contain scores.

    Returns ``(home, away)`` of the last stamp whose offset is ``<= offset``: an offset that
    falls between two stamps has the earlier stamp's score, and an offset past the last
    stamp has the final score.

    Raises ValueError when ``game_stamps`` is empty or ``offset`` is before the first stamp,
    and TypeError when ``offset`` is not an int (a bool is refused too, although bool is an
    int subclass). ``game_stamps`` must be sorted by offset, as generate_game makes it; it
    is only read, never modified.

    O(log n): a binary search over the list itself, with no per-call copy or list of offsets.
    """  # noqa: E501
    # `type(...) is int` first: the common case pays one check, not two isinstance calls.
    if type(offset) is not int and (isinstance(offset, bool) or not isinstance(offset, int)):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")

    index = bisect_right(game_stamps, offset, key=_stamp_offset) - 1
    if index < 0:  # an empty list lands here too, so the common case pays no emptiness check
        if not game_stamps:
            raise ValueError("game_stamps is empty: a game has at least its initial stamp")
        raise ValueError(
            f"offset {offset} is before the first stamp (offset {game_stamps[0]['offset']})"
        )

    score = game_stamps[index]["score"]
    return score["home"], score["away"]
