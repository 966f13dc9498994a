# bench/lib.sh: shell helpers the benchmark drivers share (sourced after
# tests/harness.sh).

# bench_peak_rss PID: polls the process's VmHWM every 0.2 s until it exits;
# prints the peak in kB (0 if it was never read). The caller stops the
# process by pid afterwards (pdm_stop) to collect its exit status.
bench_peak_rss() {
  local pid=$1 hwm=0 v
  while _pdm_alive "$pid"; do
    v=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
    sleep 0.2
  done
  echo "$hwm"
}
