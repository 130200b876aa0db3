"""Adapters to the outside world that both tops (web/ and cli/) hand to the services: the
service packages declare a Protocol, an adapter here fulfils it (warehouse's pattern)."""
