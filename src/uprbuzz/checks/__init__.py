"""Platform rules: how X, Bluesky and images are judged, and the posting budget. No I/O to
platforms, no state store."""
