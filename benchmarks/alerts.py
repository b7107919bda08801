"""Alert benchmark: planted anomalies found, false alerts raised, over many synthetic terms.

What it does
------------
For each seed, ``synthetic_lessons.make_term`` builds a term (12 students, 6 lessons of 20 min
at 2 frames a second, three students the model always reads as sad, angry or happy, two
anomalies of each rule planted; see that module), ``write_term`` stores it in a temporary
DuckDB the way the pipeline does, and ``alert_checks.check_alerts`` runs the rules with their
default thresholds (or those given with ``--set``). ``synthetic_lessons.score`` then counts:

* ``recall``: planted anomalies found by their own rule with a window that overlaps them;
* ``false_per_30``: alerts not explained by anything planted, per 30 student-lessons with
  nothing planted (the target is at most 1);
* ``biased_flagged``: alerts on the students with a constant model bias (target 0).

``--strengths`` repeats everything with weaker (or stronger) planted anomalies, to show where
the rules stop finding them. ``check_s`` is the time of one whole check (every lesson read from
DuckDB twice, every rule), per term.

Usage::

    .venv/bin/python benchmarks/alerts.py [--seeds 20] [--first-seed 0]
        [--strengths 1.0 0.8 0.6] [--set RULE.THRESHOLD=VALUE ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.synthetic_lessons import RULES, TermPlan, make_term, score, write_term
from emotion_core.alerts.checks import check_alerts, current_alerts
from emotion_core.core.alert_settings import AlertSettings
from emotion_core.store.store import Store


def run(seeds: list[int], strength: float, settings: AlertSettings) -> dict[str, object]:
    planted = found = clean = false = biased = biased_lessons = 0
    false_by_rule: Counter[str] = Counter()
    missed_by_rule: Counter[str] = Counter()
    check_s = []
    with tempfile.TemporaryDirectory() as folder:
        for seed in seeds:
            term = make_term(TermPlan(seed=seed, plant_strength=strength))
            with Store(Path(folder) / f"term_{seed}.duckdb") as store:
                video_ids = write_term(store, term)
                started = time.perf_counter()
                check_alerts(store, settings)
                check_s.append(time.perf_counter() - started)
                result = score(current_alerts(store), term, video_ids)
            planted += result.planted
            found += result.found
            clean += result.clean_student_lessons
            false += result.false_alerts
            biased += result.biased_flagged
            biased_lessons += result.biased_student_lessons
            false_by_rule.update(result.false_alert_rows["rule"])
            missed_by_rule.update(p.rule for p in result.missed)
    return {
        "plant_strength": strength, "terms": len(seeds), "planted": planted, "found": found,
        "recall": round(found / planted, 3),
        "missed_by_rule": {rule: missed_by_rule[rule] for rule in RULES},
        "clean_student_lessons": clean, "false_alerts": false,
        "false_per_30": round(30 * false / clean, 3),
        "false_by_rule": {rule: false_by_rule[rule] for rule in RULES},
        "biased_flagged": biased, "biased_student_lessons": biased_lessons,
        # false alerts per 30 student-lessons, of the students with a constant lean and of
        # the others: a lean that raised alerts would show as a higher rate
        "false_per_30_biased": round(30 * biased / biased_lessons, 3),
        "false_per_30_others": round(30 * (false - biased) / (clean - biased_lessons), 3),
        "check_s_median": round(sorted(check_s)[len(check_s) // 2], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="synthetic terms (default 20)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--strengths", type=float, nargs="+", default=[1.0],
                        help="plant strengths to try (1 = as in the tests)")
    parser.add_argument("--set", action="append", default=[], metavar="RULE.THRESHOLD=VALUE")
    parser.add_argument("--json", action="store_true", help="one JSON object per strength")
    args = parser.parse_args(argv)
    settings = AlertSettings().with_overrides(dict(a.split("=", 1) for a in args.set))
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    for strength in args.strengths:
        result = run(seeds, strength, settings)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(f"strength {strength}: recall {result['recall']} ({result['found']}/"
                  f"{result['planted']}, missed {result['missed_by_rule']}), "
                  f"false per 30 student-lessons {result['false_per_30']} "
                  f"({result['false_alerts']} in {result['clean_student_lessons']}, "
                  f"{result['false_by_rule']}), biased students flagged "
                  f"{result['biased_flagged']} in {result['biased_student_lessons']} "
                  f"student-lessons (per 30: {result['false_per_30_biased']} against "
                  f"{result['false_per_30_others']} for the others), check "
                  f"{result['check_s_median']} s per term",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
