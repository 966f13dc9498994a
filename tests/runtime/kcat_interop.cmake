pdm_runtime_test(kcat_interop kcat_interop.sh 60)
