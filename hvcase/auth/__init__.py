"""Users, roles, sign-in (cookie sessions and tablet tokens) and passwords."""
