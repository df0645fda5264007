"""The command-line faces of tito: each module registers one command."""
