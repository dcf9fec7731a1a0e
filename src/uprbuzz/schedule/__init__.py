"""When to call the publish loop: tick, the daemon, the fast path, wake times, plan."""
