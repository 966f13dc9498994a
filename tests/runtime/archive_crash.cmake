pdm_runtime_test(archive_crash archive_crash.sh 240)
