"""The blog's RSS/Atom feeds: fetch safely, poll, turn items into Posts."""
