"""The tender lifecycle: projects, announcements, bids, opening, evaluation, award."""
