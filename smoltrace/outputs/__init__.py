"""Outputs of a run: results rows, the leaderboard row, the local run folder and the Hub datasets."""
