#!/usr/bin/env bash
# usage: benchmarks/redesign_baseline.sh REPO OUTDIR  -- the byte-identity check of the redesign (issue 10): builds the
# same simulated jobs with build/croissant/the seed scripts, lists sha256 of every file, trains and evaluates a seeded gbt run.
# Run it on a checkout before and after a change and diff OUTDIR/sha256.txt (build_info.json and croissant.json dates differ).
set -euo pipefail
REPO=$1; OUT=$2
PY=$REPO/.venv/bin/python; RC=$REPO/.venv/bin/rapid-croissant
mkdir -p $OUT
JOBS=${JOBS:-$OUT/jobs}
if [ ! -d $JOBS ]; then $RC -q simulate -n 4 --size 512 --seed 11 -o $JOBS --defects; fi
rm -rf $OUT/ds1 $OUT/ds2 $OUT/ds3 $OUT/runs
$RC -q build -i $JOBS -o $OUT/ds1 --workers 1 || true
$RC -q croissant -d $OUT/ds1 || true
$RC -q build -i $JOBS -o $OUT/ds2 --workers 2 --cutouts || true
$RC -q croissant -d $OUT/ds2 || true
(cd $REPO && $PY create_dataset.py -i $JOBS -o $OUT/ds3 >/dev/null 2>&1) || true
(cd $REPO && $PY generate_croissant.py -d $OUT/ds3 >/dev/null 2>&1) || true
(cd $OUT && find ds1 ds2 ds3 -type f ! -path '*/.parts/*' -print0 | sort -z | xargs -0 sha256sum > sha256.txt)
wc -l $OUT/sha256.txt
(cd $REPO && $RC -q train -d $OUT/ds2 --model gbt --algorithm both --runs $OUT/runs > $OUT/train.txt 2>&1) || true
cat $OUT/train.txt | tail -20
RUN=$(ls -d $OUT/runs/*/ | head -1)
(cd $REPO && $RC -q evaluate $RUN -d $OUT/ds2 --n-boot 200 > $OUT/eval.txt 2>&1) || true
tail -30 $OUT/eval.txt
