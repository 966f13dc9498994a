pdm_runtime_test(security_secrets security_secrets.sh 90)
