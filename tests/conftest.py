from hypothesis import HealthCheck, settings

# CI runs the property tests with a fixed budget and no deadline (the first example of a
# new dtype compiles Numba kernels, and the 2-core CI machines are shared and noisy).
settings.register_profile(
    "default",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.load_profile("default")
