# The Kubernetes kit, validated offline (kubectl kustomize, then the
# Kubernetes and CRD schemas with tests/k8s/validate.js). Exit 77 means
# "skipped": npm is not installed.
pdm_runtime_test(ops_k8s ops_k8s.sh 300)
set_tests_properties(ops_k8s PROPERTIES SKIP_RETURN_CODE 77)
