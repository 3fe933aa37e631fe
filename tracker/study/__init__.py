"""Study set-up services: studies, waves, cohorts, participants, instruments, model roles.

Every function takes the session first, never commits, and raises
:class:`tracker.errors.TrackerError` subclasses for problems a user can fix.
"""
