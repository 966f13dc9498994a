pdm_runtime_test(stream_parity stream_parity.sh 400)
