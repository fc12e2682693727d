"""The audit's history in git + DVC: the datasets of each revision, a past version's file, a
redraw that proves a version reproducible, and what differs when it is not.

``repository`` reads revisions and DVC objects without a checkout; ``history`` lists and exports
versions; ``reproduce`` redraws a sample (or rebuilds a curated dataset) from the recipe of its
revision; ``tablediff`` explains a difference.
"""
