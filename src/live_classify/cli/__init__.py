"""The command line: flags, their value types, what they mean together, the photo command."""
