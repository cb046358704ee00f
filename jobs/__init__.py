"""Jobs: what the command line and the dashboard run, composed from the core packages."""
