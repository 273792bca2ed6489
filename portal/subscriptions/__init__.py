"""The staff's subscriptions screen (see views)."""
