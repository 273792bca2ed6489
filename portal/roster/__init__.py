"""The broker's staff screens of the volunteer roster: the import history and the CSV upload."""
