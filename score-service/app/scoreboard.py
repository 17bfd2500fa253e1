"""The game as the service holds it, and the loading and validation of GAME_FILE.

Between two score changes every stamp carries the same score, so a Scoreboard keeps only
the first stamp and the changes, in int64 arrays: a lookup is one C-level bisect.
"""

import json
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from app.game import generate_game

_STAMP_SHAPE = '{"offset": int, "score": {"home": int, "away": int}}'
# The arrays hold signed 64-bit integers ("q"); JSON integers have no bound.
_INT64_MAX = 2**63 - 1


class GameFileError(Exception):
    """A game that cannot be served; the message is one line that names the problem."""


@dataclass(frozen=True, slots=True)
class Scoreboard:
    """A validated game, reduced to its score changes (see the module docstring)."""

    offsets: array  # offset of the first stamp, then of each stamp whose score changed
    home: array
    away: array
    stamps_count: int  # stamps in the game it was built from
    final_offset: int  # offset of that game's last stamp

    def score_at(self, offset: int) -> tuple[int, int]:
        """Return ``(home, away)`` at ``offset``, with get_score's semantics.

        Raises ValueError for an offset before the first stamp.
        """
        index = bisect_right(self.offsets, offset) - 1
        if index < 0:
            raise ValueError(f"offset {offset} is before the first stamp")
        return self.home[index], self.away[index]


def _is_int(value: object) -> bool:
    # JSON true/false load as bool, which is an int subclass: not a score or an offset.
    return isinstance(value, int) and not isinstance(value, bool)


def _stamp_fields(index: int, stamp: object) -> tuple[int, int, int]:
    if isinstance(stamp, dict) and isinstance(score := stamp.get("score"), dict):
        fields = stamp.get("offset"), score.get("home"), score.get("away")
        if all(_is_int(field) for field in fields):
            if any(abs(field) > _INT64_MAX for field in fields):
                raise GameFileError(
                    f"stamp {index}: a number does not fit in 64 bits: {json.dumps(stamp)[:80]}"
                )
            return fields
    raise GameFileError(f"stamp {index}: expected {_STAMP_SHAPE}, got {json.dumps(stamp)[:80]}")


def scoreboard_from_stamps(stamps: object) -> Scoreboard:
    """Validate a game in the task's shape and return its Scoreboard.

    Raises GameFileError when it is not a non-empty list of stamps, the first offset is
    not 0, offsets do not strictly increase, or a score is negative or decreases.
    """
    if not isinstance(stamps, list):
        raise GameFileError(f"expected a JSON list of stamps {_STAMP_SHAPE}")
    if not stamps:
        raise GameFileError("the game has no stamps")

    offsets, home, away = array("q"), array("q"), array("q")
    previous = None
    for index, stamp in enumerate(stamps):
        current = _stamp_fields(index, stamp)
        offset, home_score, away_score = current
        if previous is None:
            if offset != 0:
                raise GameFileError(f"stamp 0: the game must start at offset 0, not {offset}")
            if home_score < 0 or away_score < 0:
                raise GameFileError(f"stamp 0: negative score {home_score}:{away_score}")
        else:
            if offset <= previous[0]:
                raise GameFileError(
                    f"stamp {index}: offset {offset} is not greater than the previous "
                    f"offset {previous[0]}; offsets must strictly increase"
                )
            if home_score < previous[1] or away_score < previous[2]:
                raise GameFileError(
                    f"stamp {index}: score {home_score}:{away_score} is below the previous "
                    f"score {previous[1]}:{previous[2]}; scores never decrease"
                )
        if previous is None or current[1:] != previous[1:]:
            offsets.append(offset)
            home.append(home_score)
            away.append(away_score)
        previous = current

    return Scoreboard(offsets, home, away, stamps_count=len(stamps), final_offset=previous[0])


def scoreboard_load(game_file: Path | None, game_seed: int) -> Scoreboard:
    """Return the Scoreboard of ``game_file``, or of the game generated with ``game_seed``.

    Raises GameFileError (one line: "GAME_FILE <path>: <problem>") when the file cannot be
    read, is not JSON, or fails scoreboard_from_stamps.
    """
    if game_file is None:
        return scoreboard_from_stamps(generate_game(game_seed))
    try:
        return scoreboard_from_stamps(json.loads(game_file.read_bytes()))
    except OSError as e:
        raise GameFileError(f"GAME_FILE {game_file}: cannot read it: {e.strerror}") from e
    except ValueError as e:  # JSONDecodeError, or bytes that are not UTF-8/16/32
        raise GameFileError(f"GAME_FILE {game_file}: not JSON: {e}") from e
    except GameFileError as e:
        raise GameFileError(f"GAME_FILE {game_file}: {e}") from e
