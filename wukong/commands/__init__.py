"""One module per `wukong` subcommand; each defines `register(subparsers)` and `run(args) -> int`."""
