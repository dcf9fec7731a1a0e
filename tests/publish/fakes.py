"""The publish tests drive the loop through the rule-keeping in-memory platform of
tests/fixtures/publish.py (the one the platform contract suite holds to the X stand-in and the
real PDS), so a publish test cannot pass on behaviour a real platform would refuse."""

from tests.fixtures.publish import FakePlatform

__all__ = ["FakePlatform"]
