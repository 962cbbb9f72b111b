"""A stateful simulator of the Toobit copy-trading follower API."""
