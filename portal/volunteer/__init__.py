"""The volunteer's own area, opened by their personal link with no password: quote, adhesion, e-signature."""
