"""Mentorship (Mr. Mentor core): mentors and discovery, slots and meetings, the live room's
records, feedback, recordings and calendar sync (mentorship.md). Built in parts: its ports
(calendar) come first."""

from __future__ import annotations
