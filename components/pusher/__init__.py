"""TFLitePusher: component.py (its spec and channels) beside executor.py (what it does)."""
