"""uprbuzz: publicity and live coverage for UN Universal Periodic Review campaigns."""

__version__ = "0.1.0"
