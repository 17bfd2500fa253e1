"""Task 2: unittest tests for get_score and the game generator.

Runs with `python -m unittest` from score-service/ and under pytest.
"""

# ruff: noqa: PT009, PT027 (the task asks for unittest: its assert methods are the point)

import contextlib
import copy
import random
import unittest
from itertools import pairwise

from app.game import (
    INITIAL_STAMP,
    OFFSET_MAX_STEP,
    TIMESTAMPS_COUNT,
    generate_game,
    get_score,
)


def stamp(offset, home, away):
    return {"offset": offset, "score": {"home": home, "away": away}}


# A short game in the task's shape. Offsets 1, 4, 5 and 7 have no stamp; from offset 8 on
# home and away differ, so a swap shows.
GAME = [
    stamp(0, 0, 0),
    stamp(2, 0, 0),
    stamp(3, 1, 0),
    stamp(6, 1, 1),
    stamp(8, 1, 2),
    stamp(9, 1, 2),
]


def linear_get_score(game_stamps, offset):
    """The obvious O(n) reference: the score of the last stamp with offset <= offset."""
    found = None
    for game_stamp in game_stamps:
        if game_stamp["offset"] > offset:
            break
        found = game_stamp
    if found is None:
        raise ValueError(offset)
    return found["score"]["home"], found["score"]["away"]


class GetScoreTest(unittest.TestCase):
    def test_offset_of_a_stamp_returns_that_stamps_score(self):
        self.assertEqual(get_score(GAME, 3), (1, 0))

    def test_offset_between_stamps_returns_earlier_score(self):
        self.assertEqual(get_score(GAME, 5), (1, 0))

    def test_offset_of_first_stamp_returns_initial_score(self):
        self.assertEqual(get_score(GAME, 0), (0, 0))

    def test_offset_of_last_stamp_returns_final_score(self):
        self.assertEqual(get_score(GAME, 9), (1, 2))

    def test_offset_past_last_stamp_returns_final_score(self):
        self.assertEqual(get_score(GAME, 10**9), (1, 2))

    def test_offset_before_first_stamp_raises_value_error(self):
        with self.assertRaises(ValueError):
            get_score(GAME, -1)

    def test_offset_before_first_stamp_of_a_game_not_starting_at_zero_raises_value_error(self):
        with self.assertRaises(ValueError):
            get_score(GAME[2:], 2)

    def test_empty_game_raises_value_error(self):
        with self.assertRaises(ValueError):
            get_score([], 0)

    def test_one_stamp_game_returns_its_score_at_and_after_its_offset(self):
        one_stamp_game = [stamp(0, 0, 0)]
        self.assertEqual(
            (get_score(one_stamp_game, 0), get_score(one_stamp_game, 50)), ((0, 0), (0, 0))
        )

    def test_float_offset_raises_type_error_even_when_whole(self):
        with self.assertRaises(TypeError):
            get_score(GAME, 3.0)

    def test_string_offset_raises_type_error(self):
        with self.assertRaises(TypeError):
            get_score(GAME, "3")

    def test_none_offset_raises_type_error(self):
        with self.assertRaises(TypeError):
            get_score(GAME, None)

    def test_bool_offset_raises_type_error_although_bool_is_an_int(self):
        with self.assertRaises(TypeError):
            get_score(GAME, True)

    def test_type_is_checked_before_the_game_so_an_empty_game_still_raises_type_error(self):
        with self.assertRaises(TypeError):
            get_score([], "0")

    def test_game_stamps_are_not_modified(self):
        game = copy.deepcopy(GAME)
        for offset in (-1, 0, 5, 9, 100):
            with contextlib.suppress(ValueError):
                get_score(game, offset)
        self.assertEqual(game, GAME)

    def test_home_and_away_are_not_swapped(self):
        home, away = get_score(GAME, 8)
        self.assertEqual((home, away), (1, 2))

    def test_agrees_with_linear_reference_on_generated_game_at_random_offsets(self):
        rng = random.Random(20240501)
        game = generate_game(rng)
        last_offset = game[-1]["offset"]
        offsets = [rng.randint(-5, last_offset + 5) for _ in range(500)]
        # Every offset around the score's changes, where an off-by-one would show.
        changes = [s["offset"] for a, s in pairwise(game) if a["score"] != s["score"]]
        offsets += [change + delta for change in changes for delta in (-1, 0, 1)]
        for offset in offsets:
            try:
                expected = linear_get_score(game, offset)
            except ValueError:
                with self.assertRaises(ValueError, msg=offset):
                    get_score(game, offset)
            else:
                self.assertEqual(get_score(game, offset), expected, msg=offset)


class GenerateGameTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.game = generate_game(random.Random(1))

    def test_game_is_a_copy_of_initial_stamp_then_timestamps_count_stamps(self):
        self.assertEqual((self.game[0], len(self.game)), (INITIAL_STAMP, TIMESTAMPS_COUNT + 1))

    def test_same_seed_generates_the_same_game(self):
        self.assertEqual(generate_game(random.Random(1)), self.game)

    def test_int_seed_generates_the_same_game_as_a_random_with_that_seed(self):
        self.assertEqual(generate_game(1), self.game)

    def test_different_seeds_generate_different_games(self):
        self.assertNotEqual(generate_game(2), self.game)

    def test_mutating_a_games_first_stamp_leaves_initial_stamp_unchanged(self):
        game = generate_game(3, stamps_count=1)
        game[0]["score"]["home"] = 99
        game[0]["offset"] = 99
        self.assertEqual(INITIAL_STAMP, {"offset": 0, "score": {"home": 0, "away": 0}})

    def test_offsets_strictly_increase_by_one_to_offset_max_step(self):
        steps = {b["offset"] - a["offset"] for a, b in pairwise(self.game)}
        self.assertEqual(steps, set(range(1, OFFSET_MAX_STEP + 1)))

    def test_scores_never_decrease_and_change_by_at_most_one_goal_per_stamp(self):
        changes = {
            (b["score"]["home"] - a["score"]["home"], b["score"]["away"] - a["score"]["away"])
            for a, b in pairwise(self.game)
        }
        self.assertLessEqual(changes, {(0, 0), (1, 0), (0, 1)})

    def test_stamps_count_sets_the_length(self):
        self.assertEqual(len(generate_game(4, stamps_count=10)), 11)


if __name__ == "__main__":
    unittest.main()
