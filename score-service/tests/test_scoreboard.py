"""The service's in-memory game, and GAME_FILE loading and validation."""

import json
import random

import pytest

from app.game import generate_game, get_score
from app.scoreboard import GameFileError, scoreboard_from_stamps, scoreboard_load


def stamp(offset, home, away):
    return {"offset": offset, "score": {"home": home, "away": away}}


GAME = [stamp(0, 0, 0), stamp(2, 0, 0), stamp(3, 1, 0), stamp(6, 1, 1), stamp(8, 1, 1)]


def write_game(tmp_path, content):
    game_file = tmp_path / "game.json"
    game_file.write_text(content if isinstance(content, str) else json.dumps(content))
    return game_file


def test_scoreboard_keeps_only_the_first_stamp_and_the_score_changes():
    scoreboard = scoreboard_from_stamps(GAME)

    assert (list(scoreboard.offsets), list(scoreboard.home), list(scoreboard.away)) == (
        [0, 3, 6],
        [0, 1, 1],
        [0, 0, 1],
    )


def test_scoreboard_remembers_the_games_size_and_final_offset():
    scoreboard = scoreboard_from_stamps(GAME)

    assert (scoreboard.stamps_count, scoreboard.final_offset) == (5, 8)


def test_scoreboard_agrees_with_get_score_on_a_generated_game():
    rng = random.Random(99)
    game = generate_game(rng)
    scoreboard = scoreboard_from_stamps(game)
    offsets = [rng.randint(0, game[-1]["offset"] + 10) for _ in range(5000)]
    offsets += [s["offset"] + d for s in game if s["score"] != game[0]["score"] for d in (-1, 0)]

    assert [scoreboard.score_at(o) for o in offsets] == [get_score(game, o) for o in offsets]


def test_scoreboard_refuses_an_offset_before_the_first_stamp():
    with pytest.raises(ValueError, match="before the first stamp"):
        scoreboard_from_stamps(GAME).score_at(-1)


def test_no_game_file_loads_the_game_generated_with_the_seed():
    scoreboard = scoreboard_load(None, 5)

    assert scoreboard == scoreboard_from_stamps(generate_game(5))


def test_game_file_in_the_tasks_shape_is_loaded(tmp_path):
    scoreboard = scoreboard_load(write_game(tmp_path, GAME), 5)

    assert scoreboard == scoreboard_from_stamps(GAME)


def test_missing_game_file_is_refused(tmp_path):
    with pytest.raises(GameFileError, match=r"GAME_FILE .*absent\.json: cannot read it"):
        scoreboard_load(tmp_path / "absent.json", 5)


def test_game_file_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(GameFileError, match="cannot read it"):
        scoreboard_load(tmp_path, 5)


def test_game_file_that_is_not_json_is_refused(tmp_path):
    with pytest.raises(GameFileError, match=r"game\.json: not JSON: Expecting value"):
        scoreboard_load(write_game(tmp_path, "offset,home,away\n0,0,0\n"), 5)


def test_game_file_that_is_not_text_is_refused(tmp_path):
    game_file = tmp_path / "game.json"
    game_file.write_bytes(b"\xff\xfe\xfa\x00\x00")

    with pytest.raises(GameFileError, match="not JSON"):
        scoreboard_load(game_file, 5)


def test_game_file_holding_an_object_is_refused(tmp_path):
    with pytest.raises(GameFileError, match="expected a JSON list of stamps"):
        scoreboard_load(write_game(tmp_path, {"stamps": GAME}), 5)


def test_game_file_with_no_stamps_is_refused(tmp_path):
    with pytest.raises(GameFileError, match="the game has no stamps"):
        scoreboard_load(write_game(tmp_path, []), 5)


@pytest.mark.parametrize(
    "bad_stamp",
    [
        [0, 0, 0],
        {"offset": 4, "home": 1, "away": 0},
        {"offset": 4, "score": {"home": 1}},
        {"offset": "4", "score": {"home": 1, "away": 0}},
        {"offset": 4.0, "score": {"home": 1, "away": 0}},
        {"offset": 4, "score": {"home": True, "away": 0}},
    ],
    ids=["list", "flat", "no-away", "string-offset", "float-offset", "bool-score"],
)
def test_stamp_of_the_wrong_shape_is_refused_with_its_index(tmp_path, bad_stamp):
    with pytest.raises(GameFileError, match=r"stamp 3: expected \{\"offset\": int"):
        scoreboard_load(write_game(tmp_path, [*GAME[:3], bad_stamp]), 5)


def test_number_beyond_64_bits_is_refused_with_its_index(tmp_path):
    game = [*GAME, stamp(9, 2**63, 1)]

    with pytest.raises(GameFileError, match="stamp 5: a number does not fit in 64 bits"):
        scoreboard_load(write_game(tmp_path, game), 5)


def test_game_not_starting_at_offset_zero_is_refused(tmp_path):
    with pytest.raises(GameFileError, match="stamp 0: the game must start at offset 0, not 2"):
        scoreboard_load(write_game(tmp_path, GAME[1:]), 5)


def test_repeated_offset_is_refused(tmp_path):
    game = [*GAME[:3], stamp(3, 1, 0)]

    with pytest.raises(GameFileError, match=r"stamp 3: offset 3 is not greater than .* offset 3"):
        scoreboard_load(write_game(tmp_path, game), 5)


def test_decreasing_offset_is_refused(tmp_path):
    game = [*GAME[:3], stamp(1, 1, 0)]

    with pytest.raises(GameFileError, match="offsets must strictly increase"):
        scoreboard_load(write_game(tmp_path, game), 5)


def test_negative_score_is_refused(tmp_path):
    with pytest.raises(GameFileError, match="stamp 0: negative score 0:-1"):
        scoreboard_load(write_game(tmp_path, [stamp(0, 0, -1)]), 5)


def test_decreasing_score_is_refused(tmp_path):
    game = [*GAME, stamp(9, 0, 1)]

    with pytest.raises(GameFileError, match="stamp 5: score 0:1 is below the previous score 1:1"):
        scoreboard_load(write_game(tmp_path, game), 5)
