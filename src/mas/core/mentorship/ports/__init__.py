"""What mentorship talks to outside the process: the calendar."""
