"""What the data directory holds: graphs, record versions, run log, history, and the one atomic write."""
