"""toobit-follower: the signed, typed client of the Toobit copy-trading follower API."""
