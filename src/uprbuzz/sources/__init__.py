"""Sources of Posts: queue files, campaigns, feeds (one entry point: gather.load_all)."""
