"""Private implementation of :mod:`skills.parse_times`.

Pipeline: ``normalize`` (lower-case, number words to digits, offset map) -> ``atoms``
(small recognisers: dates, clocks, parts of day, offsets, zones) -> ``grammar`` (joins
neighbouring atoms into expressions, ranges, lists and exclusions) -> ``resolve`` (turns a
partial specification into aware datetimes using ``now`` and the writer's zone).
Import the public API from ``skills.parse_times``, not from here.
"""
