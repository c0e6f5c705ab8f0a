"""Communications' tables and repositories, one module pair per part (mail, notifications, …)."""
