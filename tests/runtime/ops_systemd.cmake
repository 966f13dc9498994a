pdm_runtime_test(ops_systemd ops_systemd.sh 60)
