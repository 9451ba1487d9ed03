# cli/: the coffer admin CLI.
