#!/usr/bin/env bash
# redis_cluster_failover: the scorer keeps a Redis Cluster's state right
# while the cluster changes under it (3 masters, 3 replicas on loopback,
# tests/redis_cluster.sh). A stream is replayed at a fixed rate into a
# running scorer (small batches) while: 0. machine 1's slot moves by hand,
# key by key (ASK, ASKING); 1. a range of slots with a machine's keys moves
# to another master (redis-cli --cluster reshard: MOVED, ASK);
# 2. the master holding most slots is killed (SIGKILL: its replica takes
# over after the node timeout); 3. another master hands over to its replica
# (CLUSTER FAILOVER). Then: every telemetry event was scored with features
# equal to pdm-train --dump-features on the same data to 1e-9 (duplicates,
# batches scored again after a failed write, counted and compared too), the
# scorer followed the new slot map and came back after the kill, and no
# failover or reshard was taken for lost state (the per-slot epoch keys
# moved and replicated with their slots).
set -euo pipefail
source "$PDM_SOURCE_DIR/tests/harness.sh"
source "$PDM_SOURCE_DIR/tests/redis_cluster.sh"
source "$PDM_SOURCE_DIR/tests/runtime/scorer_lib.sh"
source "$PDM_SOURCE_DIR/tests/runtime/faults_lib.sh"
pdm_tmpdir >/dev/null
T=$PDM_TMP
compare="/usr/bin/python3 $PDM_SOURCE_DIR/tests/runtime/compare_features.py"

pdm_start_redis_cluster
pdm_start_broker 4 --topic pdm.ha

sl_sim "$T/data" 12 1500 5
sl_train "$T/data" "$T/train.log" --out "$T/models/candidate" --rounds 10 \
  --dump-features "$T/offline.csv" --promote "$T/models"
rows=$(($(wc -l <"$T/offline.csv") - 1))
mapfile -t cuts < <(awk -F, 'NR > 1 {print $2}' "$T/offline.csv" | sort -u \
  | awk '{t[NR] = $0} END {print t[int(NR / 3)]; print t[int(2 * NR / 3)]}')
fl_split "$T/data" "$T/parts" "${cuts[@]}"

sl_scorer "$T/scorer.log" --redis "$PDM_CLUSTER_URL" --model "$T/models" --topics pdm.ha \
  --group ha --emit all --dump-features "$T/online.csv" --batch-size 100
scorer=$SL_PID
sl_wait_log "$T/scorer.log" "assigned [0-9]* partitions" 1 30

node_id() { pdm_cluster_cli "$1" cluster myid; }
# slots_of PORT: how many slots the node serves (its ranges in CLUSTER NODES).
slots_of() {
  pdm_cluster_cli "$1" cluster nodes | awk '/myself/ { n = 0
    for (i = 9; i <= NF; i++) if ($i !~ /^\[/) { k = split($i, r, "-"); n += (k == 2 ? r[2] - r[1] + 1 : 1) }
    print n }'
}
# The stream in three parts (cut at a third and two thirds of its hours),
# each replayed at 1,000 events/s (about 6 s): part 1 under a slot moved by
# hand (0.), part 2 under a reshard (1.), part 3 under the failovers (2., 3.).
sl_replay_bg "$T/parts/part1" pdm.ha --rate 1000
producer=$SL_PID
sl_wait_rows "$T/online.csv" 200 30
mapfile -t masters < <(pdm_cluster_masters)
first=${masters[0]}
# 0. First a slot moved by hand, machine 1's: MIGRATING on its master,
# IMPORTING on another, then its keys MIGRATEd one by one (as redis-cli
# does, slowly) while the scorer writes: the source answers ASK for a key
# it no longer has, and only a command after ASKING is taken by the
# importing node (which answers MOVED otherwise).
s=$(pdm_cluster_cli "$first" cluster keyslot '{1}')
src=$(for p in "${masters[@]}"; do
  case $(pdm_cluster_cli "$p" exists 'pdm:{1}:meta' 2>&1) in *MOVED*) ;; *) echo "$p" ;; esac
done | sed -n 1p)
dst=""
for p in "${masters[@]}"; do [ "$p" = "$src" ] || dst=$p; done
pdm_cluster_cli "$dst" cluster setslot "$s" importing "$(node_id "$src")" >/dev/null
pdm_cluster_cli "$src" cluster setslot "$s" migrating "$(node_id "$dst")" >/dev/null
at=$(sl_rows "$T/online.csv")
for k in $(pdm_cluster_cli "$src" cluster getkeysinslot "$s" 100); do
  pdm_cluster_cli "$src" migrate 127.0.0.1 "$dst" "$k" 0 5000 >/dev/null
  sleep 0.3
done
sl_wait_rows "$T/online.csv" $((at + 300)) 30
moved_keys=$(pdm_cluster_cli "$dst" cluster countkeysinslot "$s")
# The scorer kept writing machine 1 on the importing node (ASK, ASKING): the
# source holds none of them, and features (checked at the end) are right.
[ "$(pdm_cluster_cli "$src" cluster countkeysinslot "$s")" = 0 ] \
  || pdm_fail "keys of slot $s written on the migrating node: ASK not followed"
[ "$moved_keys" -ge 4 ] || pdm_fail "slot $s: $moved_keys keys on the importing node"
for p in "${masters[@]}"; do
  pdm_cluster_cli "$p" cluster setslot "$s" node "$(node_id "$dst")" >/dev/null
done
echo "slot $s (machine 1) migrated by hand from $src to $dst under the scorer" >&2
pdm_cluster_wait_ok 30 || pdm_fail "the cluster did not settle after slot $s moved"
sl_wait_exit "$producer" "$T/producer.log"

sl_replay_bg "$T/parts/part2" pdm.ha --rate 1000
producer=$SL_PID
sl_wait_rows "$T/online.csv" $((rows / 3 + 100)) 30
# 1. The reshard: from the master whose slot ranges put a machine's slot
# nearest their start, that slot and the 1,500 after it (redis-cli takes a
# master's slots from its lowest), to another master. The source keeps some
# slots: a master emptied of slots turns replica, and two masters left
# could not elect a replacement for a killed one (no majority).
mapfile -t masters < <(pdm_cluster_masters)
first=${masters[0]}
machine_slots=$(for m in $(seq 1 12); do pdm_cluster_cli "$first" cluster keyslot "{$m}"; done | tr '\n' ' ')
read -r from n_slots < <(pdm_cluster_cli "$first" cluster nodes | /usr/bin/python3 -c '
import sys
machine = [int(s) for s in sys.argv[1].split()]
best = None
for line in sys.stdin:
    f = line.split()
    if "master" not in f[2] or len(f) < 9:
        continue
    slots = []
    for r in f[8:]:
        if r.startswith("["):
            continue
        lo, _, hi = r.partition("-")
        slots += range(int(lo), int(hi or lo) + 1)
    for s in machine:
        if s in slots:
            i = slots.index(s)
            n = min(i + 1500, len(slots) - 100)
            if i < n and (best is None or i < best[2]):
                best = (f[1].split("@")[0].split(":")[1], n, i)
print(best[0], best[1])' "$machine_slots")
to=""
for p in "${masters[@]}"; do [ "$p" = "$from" ] || to=$p; done
if [ -z "$from" ] || [ -z "$to" ]; then pdm_fail "no masters to reshard between"; fi

before=$(sl_rows "$T/online.csv")
redis-cli --cluster reshard "127.0.0.1:$from" --cluster-from "$(node_id "$from")" \
  --cluster-to "$(node_id "$to")" --cluster-slots "$n_slots" --cluster-yes >"$T/reshard.log" 2>&1 \
  || pdm_fail "reshard failed: $(tail -5 "$T/reshard.log")"
during=$(($(sl_rows "$T/online.csv") - before))
echo "reshard: $n_slots slots from $from to $to; $during rows scored meanwhile" >&2
[ "$during" -gt 0 ] || pdm_fail "no row was scored during the reshard: not mid-stream"
[ "$(slots_of "$to")" -gt 5461 ] || pdm_fail "$to serves $(slots_of "$to") slots after the reshard"
sl_wait_exit "$producer" "$T/producer.log"
_pdm_alive "$scorer" || pdm_fail "the scorer died during the reshard: $(tail -5 "$T/scorer.log")"

# 2. Part 3: the master with the most slots killed on the way.
sl_replay_bg "$T/parts/part3" pdm.ha --rate 1000
producer=$SL_PID
sl_wait_rows "$T/online.csv" $((rows * 2 / 3 + 100)) 60
[ "$(sl_rows "$T/online.csv")" -lt "$rows" ] || pdm_fail "every row was scored before the kill: not mid-stream"
kill -KILL "$(pdm_cluster_pid "$to")"
pdm_stop "$(pdm_cluster_pid "$to")" 2>/dev/null || true
echo "killed master $to at $(sl_rows "$T/online.csv") rows" >&2
pdm_cluster_wait_ok 30 || pdm_fail "no replica took over from $to"
_pdm_alive "$scorer" || pdm_fail "the scorer died in the failover: $(tail -5 "$T/scorer.log")"

# 3. A graceful failover of another master, while the rest of part 3 arrives.
replica=""
for p in $(_pdm_cluster_live); do
  pdm_cluster_cli "$p" role | sed -n 1p | grep -qx slave && { replica=$p; break; }
done
[ -n "$replica" ] || pdm_fail "no replica left for CLUSTER FAILOVER"
[ "$(pdm_cluster_cli "$replica" cluster failover)" = OK ] || pdm_fail "CLUSTER FAILOVER refused"
_promoted() { pdm_cluster_cli "$replica" role | sed -n 1p | grep -qx master; }
pdm_wait_until 30 _promoted || pdm_fail "replica $replica not promoted by CLUSTER FAILOVER"
sl_wait_exit "$producer" "$T/producer.log"

# Every row scored (distinct keys), then the scorer stopped.
_all_scored() { [ "$(tail -n +2 "$T/online.csv" | awk -F, 'NF == 30' | cut -d, -f1,2 | sort -u | wc -l)" -ge "$rows" ]; }
pdm_wait_until 90 _all_scored || pdm_fail "not every row scored: $(sl_rows "$T/online.csv") rows, $rows wanted: $(tail -5 "$T/scorer.log")"
pdm_stop_check "$scorer" pdm-scorer "$T/scorer.log"
$compare "$T/offline.csv" "$T/online.csv" --expect-same-keys \
  || pdm_fail "features through the reshard and failovers differ from offline"
moved=$(grep -c "slot map \(not \)\?read again" "$T/scorer.log" || true)
down=$(grep -c "redis unavailable, retrying" "$T/scorer.log" || true)
echo "scorer: slot map read again $moved times, unavailable $down times" >&2
[ "$moved" -gt 0 ] || pdm_fail "the scorer never met a MOVED: did the reshard happen under it?"
[ "$down" -gt 0 ] || pdm_fail "the scorer never met the killed master"
grep -q "redis .* is back" "$T/scorer.log" || pdm_fail "no 'redis is back' after the kill"
if grep -q "redis state was lost" "$T/scorer.log"; then
  pdm_fail "a reshard or failover was taken for lost state: $(grep 'state was lost' "$T/scorer.log")"
fi
echo "redis_cluster_failover: ok ($rows telemetry rows)"
