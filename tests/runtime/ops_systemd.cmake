pdm_runtime_test(ops_systemd ops_systemd.sh 60)
# Exit 77 means "skipped": no systemd-analyze on this machine.
set_tests_properties(ops_systemd PROPERTIES SKIP_RETURN_CODE 77)
