"""sitegen: a static-site generator for fact-checked journalism."""

__version__ = "0.1.0"
