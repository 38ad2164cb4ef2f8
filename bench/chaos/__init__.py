"""Pieces of the attack suite run by `bench/chaos.py`: the rig of real processes and services,
the counting fakes, the hostile-mail corpus, the attacks (one module per kind) and the verdicts."""
