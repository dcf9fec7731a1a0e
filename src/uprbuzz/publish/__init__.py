"""The publish loop: due lanes, preparation, claim → send → record, reconcile."""
