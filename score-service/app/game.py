"""The task's game, in the task's style: a match as a list of score stamps, and get_score.

A stamp is ``{"offset": int, "score": {"home": int, "away": int}}``.
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

# A C-level getter: the search calls no Python code.
_stamp_offset = itemgetter("offset")


def generate_stamp(previous_value, rng=random):
    """Return a new stamp after ``previous_value``; ``rng`` is ``random`` or a ``Random``."""
    # The task's draws, kept as written so that a seed yields the task's very sequence.
    score_changed = rng.random() > 1 - PROBABILITY_SCORE_CHANGED
    home_score_change = 1 if score_changed and rng.random() > 1 - PROBABILITY_HOME_SCORE else 0
    away_score_change = 1 if score_changed and not home_score_change else 0
    offset_change = math.floor(rng.random() * OFFSET_MAX_STEP) + 1

    return {
        "offset": previous_value["offset"] + offset_change,
        "score": {
            "home": previous_value["score"]["home"] + home_score_change,
            "away": previous_value["score"]["away"] + away_score_change,
        },
    }


def generate_game(rng=None, stamps_count=TIMESTAMPS_COUNT):
    """Return a new game: a copy of INITIAL_STAMP and ``stamps_count`` stamps after it.

    ``rng`` is a ``random.Random`` or a seed; None uses the ``random`` module, as the task does.
    """
    if rng is None:
        rng = random
    elif not isinstance(rng, random.Random):
        rng = random.Random(rng)  # noqa: S311 (a simulation, not cryptography)

    # A copy: changing a game's first stamp must not change INITIAL_STAMP and later games.
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

    Returns ``(home, away)`` of the last stamp whose offset is ``<= offset``: between two
    stamps, the earlier one's score; past the last stamp, the final score.

    Raises ValueError when ``game_stamps`` is empty or ``offset`` is before the first stamp,
    and TypeError when ``offset`` is not an int (bool included). ``game_stamps`` must be
    sorted by offset, as generate_game makes it; it is never modified.

    O(log n): a binary search over the list itself, with no per-call copy.
    """  # noqa: E501
    # `type(...) is int` first: the common case pays one check, not two isinstance calls.
    if type(offset) is not int and (isinstance(offset, bool) or not isinstance(offset, int)):
        raise TypeError(f"offset must be an int, not {type(offset).__name__}")

    index = bisect_right(game_stamps, offset, key=_stamp_offset) - 1
    if index < 0:  # an empty list lands here too
        if not game_stamps:
            raise ValueError("game_stamps is empty: a game has at least its initial stamp")
        raise ValueError(
            f"offset {offset} is before the first stamp (offset {game_stamps[0]['offset']})"
        )

    score = game_stamps[index]["score"]
    return score["home"], score["away"]
