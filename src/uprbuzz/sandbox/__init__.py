"""Local stand-ins for the platforms, for rehearsal (``uprbuzz sandbox``) and tests.

- :mod:`uprbuzz.sandbox.xapi`: an X API v2 stand-in (tweets, timelines, v2 media upload) that
  verifies OAuth 1.0a signatures, enforces X's limits and can inject faults.
- :mod:`uprbuzz.sandbox.mastodon_server`: a Mastodon API stand-in (statuses, media processing,
  idempotency keys on its own clock, rate limits, faults) with the server's length rule.
- :mod:`uprbuzz.sandbox.pds`: glue that starts a real Bluesky PDS (installed from npm).
- :mod:`uprbuzz.sandbox.manager`: starts/stops both as background processes for the CLI.
"""
