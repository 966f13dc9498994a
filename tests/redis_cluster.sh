# shellcheck shell=bash
# redis_cluster.sh: a real Redis Cluster on loopback for tests, sourced after
# tests/harness.sh (whose pdm_tmpdir, pdm_free_port, pdm_track and pdm_stop it
# uses): six redis-server --cluster-enabled yes on free ports, each in its own
# directory under $PDM_TMP, joined by redis-cli --cluster create
# --cluster-replicas 1 into 3 masters and 3 replicas, stopped by pid at exit.
#
#   pdm_start_redis_cluster [REDIS-ARGS...]
#       exports PDM_CLUSTER_URL (redis+cluster://127.0.0.1:P1,127.0.0.1:P2),
#       PDM_CLUSTER_PORTS ("P1 P2 ... P6") and PDM_CLUSTER_PIDS (same order)
#   pdm_cluster_cli PORT ARGS...    redis-cli against one node (-c: follows MOVED)
#   pdm_cluster_masters             the master ports, one a line
#   pdm_cluster_pid PORT            the pid of the node on PORT
#   pdm_cluster_flushall            FLUSHALL on every master
#   pdm_cluster_wait_ok [SECONDS]   until every live node says cluster_state:ok
#                                   and every slot has a live master
#
# --repl-diskless-sync-delay 0 and waiting for every replica's first sync:
# a replica can take over a killed master only once it has synced.

PDM_CLUSTER_NODE_TIMEOUT=${PDM_CLUSTER_NODE_TIMEOUT:-2000}

pdm_cluster_cli() {
  local port=$1
  shift
  redis-cli -h 127.0.0.1 -p "$port" "$@"
}

pdm_cluster_pid() {
  local ports pids i
  read -ra ports <<<"$PDM_CLUSTER_PORTS"
  read -ra pids <<<"$PDM_CLUSTER_PIDS"
  for i in "${!ports[@]}"; do
    [ "${ports[$i]}" = "$1" ] && { echo "${pids[$i]}"; return 0; }
  done
  return 1
}

# The live nodes' ports.
_pdm_cluster_live() {
  local p
  for p in $PDM_CLUSTER_PORTS; do
    _pdm_alive "$(pdm_cluster_pid "$p")" && echo "$p"
  done
  return 0
}

pdm_cluster_masters() {
  local p
  for p in $(_pdm_cluster_live); do
    pdm_cluster_cli "$p" role 2>/dev/null | sed -n 1p | grep -qx master && echo "$p"
  done
  return 0
}

pdm_cluster_flushall() {
  local p
  for p in $(pdm_cluster_masters); do
    pdm_cluster_cli "$p" flushall >/dev/null || return 1
  done
}

_pdm_cluster_ok() {
  local p
  for p in $(_pdm_cluster_live); do
    pdm_cluster_cli "$p" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
  # Every replica synced with its master.
  for p in $(_pdm_cluster_live); do
    if pdm_cluster_cli "$p" role 2>/dev/null | sed -n 1p | grep -qx slave; then
      pdm_cluster_cli "$p" info replication | grep -q '^master_link_status:up' || return 1
    fi
  done
  # Every slot served (redis-cli --cluster check says so).
  pdm_cluster_cli "$(_pdm_cluster_live | sed -n 1p)" --cluster check \
    "127.0.0.1:$(_pdm_cluster_live | sed -n 1p)" 2>/dev/null | grep -q 'All 16384 slots covered'
}

pdm_cluster_wait_ok() {
  pdm_wait_until "${1:-30}" _pdm_cluster_ok
}

pdm_start_redis_cluster() {
  pdm_tmpdir >/dev/null || return 1
  local ports=() pids=() i port dir
  for i in 1 2 3 4 5 6; do
    local started=0
    for _ in 1 2 3 4 5; do
      port=$(pdm_free_port) || pdm_fail "no free port"
      # The cluster bus listens on port + 10000: it must be free too.
      [ "$port" -lt 55535 ] || continue
      dir=$PDM_TMP/cluster-$port
      mkdir -p "$dir"
      redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize no \
        --protected-mode yes --save '' --appendonly no --cluster-enabled yes \
        --cluster-config-file nodes.conf --cluster-node-timeout "$PDM_CLUSTER_NODE_TIMEOUT" \
        --repl-diskless-sync-delay 0 "$@" >"$dir/redis.log" 2>&1 &
      local pid=$!
      pdm_track "$pid"
      if pdm_wait_until 10 _pdm_redis_ready "$pid" "$port"; then
        started=1
        break
      fi
      pdm_stop "$pid" || true
      grep -q "Address already in use" "$dir/redis.log" 2>/dev/null && continue
      break
    done
    [ "$started" = 1 ] || { tail -n 20 "$dir/redis.log" >&2; pdm_fail "cluster node did not start on $port"; }
    ports+=("$port")
    pids+=("$pid")
  done
  export PDM_CLUSTER_PORTS="${ports[*]}" PDM_CLUSTER_PIDS="${pids[*]}"
  local addrs=()
  for port in "${ports[@]}"; do addrs+=("127.0.0.1:$port"); done
  local auth=()
  # A cluster with requirepass: redis-cli needs it too (-a).
  for ((i = 1; i <= $#; i++)); do
    [ "${!i}" = --requirepass ] && { local j=$((i + 1)); auth=(-a "${!j}" --no-auth-warning); }
  done
  redis-cli "${auth[@]}" --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
    >"$PDM_TMP/cluster-create.log" 2>&1 || { cat "$PDM_TMP/cluster-create.log" >&2; pdm_fail "redis-cli --cluster create failed"; }
  if [ ${#auth[@]} = 0 ]; then
    pdm_cluster_wait_ok 30 || pdm_fail "the cluster did not reach cluster_state:ok with synced replicas"
  fi
  export PDM_CLUSTER_URL="redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}"
}
