pdm_runtime_test(cli_checks cli_checks.sh 120)
