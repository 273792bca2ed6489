"""The integration campaign's web side: its e-mails as the worker renders them (`mail`), the links they carry
(`links`: tracking pixel, redirect, one-click unsubscribe; public, signed tokens) and the staff's pages
(`views`: the plan with the programme's and our figures, a preview of each step, a test sent to oneself)."""
