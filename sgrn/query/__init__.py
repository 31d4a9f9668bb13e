"""Asking a trained run: `sgrn search` on the command line, and `sgrn serve`'s page (app, runs, files)."""
