#!/usr/bin/env bash
# Rebuild the committed leaderboards of the embedded dataset from scratch:
# every shipped method under the SynRhythm protocols (random, subject_exclusive:
# clip rule) and the field's rules (whole_video, windowed), supervised methods
# with 3 training seeds (1 under random), the SynRhythm Fig. 6 reduced-data runs
# (FRACTION_SEEDS, default 1; the Fig. 6 table uses the same seeds in every
# column), the same methods trained on all of synthetic-dev and scored on the board's
# videos by the whole-video rule (stage people: what more training people change),
# the classic and SynRhythm methods on synthetic-46 (stage power: the same design with
# 46 subjects, the board size the learned study projected stmap_transfer's gain needs;
# with the FG 2019 variants under subject_exclusive, for the ablation),
# optionally cross-database runs (synthetic-large ->
# synthetic, clip rule and whole-video rule); then the studies in
# leaderboards/studies/ (dataset realism, evaluation rules, the FG 2019
# ablation, attention maps, the windowed rule, the learned methods' diagnosis).  Results accumulate in results/hrbench.sqlite
# (committed; this script is the only writer), so `hrbench leaderboard --all
# --store results/hrbench.sqlite --out leaderboards` regenerates the markdown byte-identically
# without re-running anything.  Re-running this script reuses every cached
# trace and stored fold.  Defaults were chosen on `synthetic-dev` (a separately
# seeded copy no board reports on): `python benchmarks/tune_defaults.py`.
#
#   bash benchmarks/run_leaderboards.sh                       # the default stages
#   STAGES="classic" bash benchmarks/run_leaderboards.sh
#   STAGES="cross large-studies" bash benchmarks/run_leaderboards.sh   # +11 GB, ~30 min on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
HB=".venv/bin/hrbench"
STORE="${HRBENCH_STORE:-results/hrbench.sqlite}"
STAGES="${STAGES:-classic synrhythm rhythm fraction people power studies}"
SEEDS="${SEEDS:-3}"
# The random-split learned runs and the reduced-data (Fig. 6) runs take fewer seeds: on 2 cores the
# full set would not fit a rebuild; every column of the Fig. 6 table uses the same seeds either way.
RANDOM_SEEDS="${RANDOM_SEEDS:-1}"
FRACTION_SEEDS="${FRACTION_SEEDS:-1}"
CLASSIC="green,ica,chrom,pos,lgi,pbv,omit"
SYNRHYTHM="svr,stmap_scratch,stmap_imagenet,stmap_transfer"
RHYTHM="rhythm_resnet,rhythm_attention,rhythm_da,rhythm_attention_da"
for stage in $STAGES; do
  case "$stage" in
    classic)
      for proto in random subject_exclusive whole_video windowed; do
        $HB run --store "$STORE" --method "$CLASSIC" --protocol "$proto"
      done ;;
    synrhythm)
      for proto in subject_exclusive whole_video; do
        $HB run --store "$STORE" --method "$SYNRHYTHM" --protocol "$proto" --seeds "$SEEDS"
      done
      $HB run --store "$STORE" --method "$SYNRHYTHM" --protocol random --seeds "$RANDOM_SEEDS" ;;
    rhythm)
      $HB run --store "$STORE" --method "$RHYTHM" --protocol subject_exclusive --seeds "$SEEDS"
      $HB run --store "$STORE" --method "$RHYTHM" --protocol random --seeds "$RANDOM_SEEDS" ;;
    fraction)
      for f in 0.5 0.25; do
        $HB run --store "$STORE" --method stmap_scratch,stmap_transfer --protocol subject_exclusive --train-fraction "$f" \
          --seeds "$FRACTION_SEEDS"
      done ;;
    people)
      $HB run --store "$STORE" --protocol cross_database_whole --train-on synthetic-dev --dataset synthetic \
        --method "$CLASSIC,$SYNRHYTHM" --seeds "$SEEDS" ;;
    power)
      for proto in whole_video subject_exclusive; do
        $HB run --store "$STORE" --dataset synthetic-46 --method "$CLASSIC,$SYNRHYTHM" --protocol "$proto" --seeds "$SEEDS"
      done
      # The FG 2019 ablation (attention x DA) on the board with the subjects to call an effect.
      $HB run --store "$STORE" --dataset synthetic-46 --method "$RHYTHM" --protocol subject_exclusive --seeds "$SEEDS" ;;
    cross)
      for proto in cross_database cross_database_whole; do
        $HB run --store "$STORE" --protocol "$proto" --train-on synthetic-large --dataset synthetic \
          --method "$CLASSIC,$SYNRHYTHM" --seeds "$SEEDS"
      done ;;
    large-studies)
      .venv/bin/python benchmarks/synthetic_realism.py --dataset synthetic-large --store "$STORE" ;;
    studies)
      .venv/bin/python benchmarks/synthetic_realism.py --dataset synthetic --store "$STORE"
      .venv/bin/python benchmarks/rules_study.py --dataset synthetic --store "$STORE"
      .venv/bin/python benchmarks/rhythm_ablation.py --store "$STORE"
      # Studies on synthetic-dev (their own stores): the windowed rule's choice, and the learned
      # methods' diagnosis (its recipe runs come from `benchmarks/tune_defaults.py --only maps`).
      .venv/bin/python benchmarks/windowed_study.py
      # Without the dev store (it lives where tune_defaults.py ran) only the page's board sections are redone.
      DEV_STORE="${XDG_DATA_HOME:-$HOME/.local/share}/hrbench/dev.sqlite"
      if [ -f "$DEV_STORE" ]; then .venv/bin/python benchmarks/learned_study.py
      else .venv/bin/python benchmarks/learned_study.py --committed-only; fi
      rm -rf leaderboards/studies/attention
      $HB explain --method rhythm_attention_da --protocol subject_exclusive --n-clips 2 --out leaderboards/studies/attention ;;
    *) echo "unknown stage $stage" >&2; exit 2 ;;
  esac
done
# Boards are a pure function of the store: clear the generated ones first so a
# breakdown no longer asked for does not linger (studies/ is script-written;
# `hrbench leaderboard` itself removes boards whose runs left the store).  This
# script is the only writer of the committed boards: `hrbench leaderboard`
# without --out writes to the user's data directory.
find leaderboards -mindepth 1 -maxdepth 1 ! -name studies -exec rm -rf {} +
$HB leaderboard --all --store "$STORE" --out leaderboards --by scenario
$HB leaderboard --all --store "$STORE" --out leaderboards --by skin_tone
$HB leaderboard --all --store "$STORE" --out leaderboards
.venv/bin/python benchmarks/readme_headline.py --store "$STORE"
# The same boards as a static site (docs/site.md), also a pure function of the store
# (the `find` above removed the previous one; tests/test_site.py checks it is current).
$HB site --store "$STORE" --out leaderboards/site
