"""The client's secure channel for health information: the broker's account managers send the client of a case
an expiring personal link; through it the client uploads documents and answers the underwriting questions,
straight to the broker and never through a partner. Everything received is encrypted with the case keys."""
