"""The `mmtrace` command line: one module per subcommand, `cmd_NAME.py`."""
