"""Pieces of the attack suite run by `bench/chaos.py`: the rig of real processes and services,
the counting fakes, the hostile-mail corpus, the scenarios and the verdicts."""
