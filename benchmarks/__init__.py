"""Benchmarks of nnapps (speed, accuracy, memory), kept outside the package so the app never
imports them; run with `python -m benchmarks` or `python -m nnapps bench`."""
