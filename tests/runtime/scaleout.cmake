pdm_runtime_test(scaleout scaleout.sh 180)
