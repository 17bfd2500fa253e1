"""`make bench`: what one get_score call costs, as ratios measured in this one run.

Prints get_score's time per call at 20k and 2M stamps and their ratio (O(log n) grows by
log(2M)/log(20k) ~ 1.5x, plus cache misses on a list of 2M dicts), the ratio to a plain
bisect on the same list with the same queries, and the speed-up over a linear scan at 50k
stamps. Each figure is the minimum over passes (the one least disturbed by the rest of the
machine); the contenders are timed in alternation, in a shuffled order, so a slow patch of
the machine or a cache warmed by one hits all. Target: <= 1.2x a plain bisect. The growth
from 20k to 2M stamps is printed for information only: the plain bisect grows as much
(cache and TLB misses on a list of 2M dicts), so it is no target.

"Plain bisect" is the same lookup with nothing else: a function that bisects with
key=itemgetter("offset") and reads the score, so the ratio is what get_score's checks cost.
The bare `bisect_right` expression (an index, no score read, no call) is printed beside it.
"""

import random
import timeit
from bisect import bisect_right
from operator import itemgetter

from app.game import generate_game, get_score
from app.scoreboard import scoreboard_from_stamps
from tests.test_game import linear_get_score  # the O(n) reference the tests check against

SEED = 2024
QUERIES = 1_000  # random offsets, the same in every timed pass (timeit style)
REPEATS = {20_000: 300, 2_000_000: 60}  # passes; the small game's are cheap, so more
LINEAR_QUERIES = 100
LINEAR_REPEATS = 3

OFFSET_KEY = itemgetter("offset")


def bisect_get_score(game_stamps, offset):
    """The plain bisect: the same lookup as get_score without its checks."""
    score = game_stamps[bisect_right(game_stamps, offset, key=OFFSET_KEY) - 1]["score"]
    return score["home"], score["away"]


def random_offsets(stamps, count, rng):
    # Up to a little past the end, so the final-score path is measured too.
    return [rng.randint(0, stamps[-1]["offset"] + 10) for _ in range(count)]


def per_call_seconds(statements, namespace, queries, repeats):
    """Return {name: seconds per call} for each ``for offset in offsets: <statement>``.

    The bare loop's own time is measured the same way and subtracted.
    """
    timers = {
        name: timeit.Timer(f"for offset in offsets: {statement}", globals=namespace)
        for name, statement in {"loop": "pass", **statements}.items()
    }
    best = dict.fromkeys(timers, float("inf"))
    order = list(timers)
    shuffler = random.Random(SEED)
    for _ in range(repeats):
        # A new order each pass: no contender always runs on the caches another one warmed.
        shuffler.shuffle(order)
        for name in order:
            best[name] = min(best[name], timers[name].timeit(number=1))
    loop = best.pop("loop")
    return {name: (seconds - loop) / queries for name, seconds in best.items()}


def measure(stamps_count, statements, *, queries, repeats, rng):
    """Return (stamps, {name: seconds per call}) for each statement on a generated game."""
    stamps = generate_game(random.Random(SEED), stamps_count=stamps_count)
    namespace = {
        "offsets": random_offsets(stamps, queries, rng),
        "stamps": stamps,
        "get_score": get_score,
        "bisect_get_score": bisect_get_score,
        "bisect_right": bisect_right,
        "key": OFFSET_KEY,
        "linear_get_score": linear_get_score,
        "scoreboard": scoreboard_from_stamps(stamps),
    }
    return len(stamps), per_call_seconds(statements, namespace, queries, repeats)


SIZE_STATEMENTS = {
    "get_score": "get_score(stamps, offset)",
    "bisect": "bisect_get_score(stamps, offset)",
    "bare": "bisect_right(stamps, offset, key=key)",
    "scoreboard": "scoreboard.score_at(offset)",
}
LINEAR_STATEMENTS = {
    "get_score": "get_score(stamps, offset)",
    "linear": "linear_get_score(stamps, offset)",
}


def us(seconds):
    return f"{seconds * 1e6:8.3f} us"


def verdict(value, target):
    return f"(target <= {target}x: {'met' if value <= target else 'MISSED'})"


def main():
    rng = random.Random(SEED)
    small_n, small = measure(
        20_000, SIZE_STATEMENTS, queries=QUERIES, repeats=REPEATS[20_000], rng=rng
    )
    large_n, large = measure(
        2_000_000, SIZE_STATEMENTS, queries=QUERIES, repeats=REPEATS[2_000_000], rng=rng
    )
    linear_n, linear = measure(
        50_000, LINEAR_STATEMENTS, queries=LINEAR_QUERIES, repeats=LINEAR_REPEATS, rng=rng
    )

    passes = " and ".join(f"{r} ({n:,} stamps)" for n, r in REPEATS.items())
    print(f"get_score per call, random offsets: min of {passes} passes of {QUERIES:,} calls")
    print(
        f"{'stamps':>11}  {'get_score':>11}  {'plain bisect':>12}  {'ratio':>6}  bare bisect_right"
    )
    for n, row in ((small_n, small), (large_n, large)):
        ratio = row["get_score"] / row["bisect"]
        print(
            f"{n:>11,}  {us(row['get_score'])}  {us(row['bisect']):>12}  {ratio:5.2f}x  "
            f"{us(row['bare'])}"
        )
    print()

    for label, row in (("20k", small), ("2M", large)):
        ratio = row["get_score"] / row["bisect"]
        print(f"vs plain bisect at {label + ':':<12} {ratio:5.2f}x {verdict(ratio, 1.2)}")
    growth = large["get_score"] / small["get_score"]
    print(f"growth 20k -> 2M stamps:        {growth:5.2f}x (for information, no target)")
    for name, label in (("bisect", "plain bisect"), ("bare", "bare bisect_right")):
        print(f"  the same growth of the {label}: {large[name] / small[name]:5.2f}x")

    speedup = linear["linear"] / linear["get_score"]
    print(
        f"linear scan at {linear_n:,} stamps: {us(linear['linear']).strip()} per call; "
        f"get_score {us(linear['get_score']).strip()}: {speedup:,.0f}x faster"
    )
    print(
        f"service form (score changes only, array('q') + bisect): "
        f"{us(small['scoreboard']).strip()} at 20k, {us(large['scoreboard']).strip()} at 2M"
    )


if __name__ == "__main__":
    main()
