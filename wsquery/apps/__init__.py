"""What people run: the CLI, its commands, the REPL, display helpers, the embedded view
server."""
