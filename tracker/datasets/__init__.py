"""Read-side: the study's data as tidy DataFrames, and the analyses run on them.

``load_study_data`` reads everything an analysis or the report needs in a few
queries; the functions in :mod:`tracker.datasets.analyses` take that object and
call the pure :mod:`tracker.analysis` functions. ``tracker analyze`` and
``tracker report`` both go through here, so they print the same numbers.
"""

from tracker.datasets.loaders import StudyData, load_items, load_scores, load_study_data

__all__ = ["StudyData", "load_items", "load_scores", "load_study_data"]
