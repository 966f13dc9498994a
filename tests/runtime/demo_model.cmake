# The demo's fleet and model (issue 17): the quality the demo shows, on two
# seeds; the hard fleet's old figures; the demo summary's counting rules.
pdm_runtime_test(demo_model demo_model.sh 300)
