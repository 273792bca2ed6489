"""The broker's staff editor of the volunteer covers' tariffs and of the zone table."""
