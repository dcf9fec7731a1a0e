"""Review-day live mode: session files, the broadcast clock, speaker predictions, the console."""
