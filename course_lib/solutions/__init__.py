"""The instructor's reference solutions of every graded blank.

This subpackage is removed from the student bundle; nothing outside it imports it
at import time."""
