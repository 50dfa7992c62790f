"""Article text: rendering, sanitising, quote anchoring and actor mentions."""
