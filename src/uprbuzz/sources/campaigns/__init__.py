"""Campaigns (schedules/*.toml): rules that make dated Posts."""
