"""The volunteer top-up cover, Flask-free (DESIGN.md §3): products and tariffs as versioned data, the rules of
the programme as plain functions, the volunteers and the roster feed that keeps them, and the funnel's events.

- `catalogue`: the covers, person categories, formulas, guarantees and programmes, with their labels
- `grid`: a tariff version's content (formulas, guarantee tables, premiums, waiting periods, limits), validated
- `tariffs`: tariff and zone-table versions, effective-dated: add one, read the one in force on a date
- `rules`, `eligibility`: commitment, cover dates, waiting periods, age limit, new dependants; who may be covered
- `quotes`: the price of a choice of covers for a volunteer and their family, with the versions it used
- `volunteers`: finding a volunteer, the dependants they declare
- `roster` (the rules of each event), `roster_input` (a record checked field by field), `roster_batch` (a
  delivery read and written in a few statements): the programme operator's feed
- `cover_end`: a subscription's cover follows its volunteer's mission (ended, moved) as the roster records it
- `collection` (months due, charged once each), `collection_plan` (the collection day and the recovery's steps as
  data), `dunning` (the recovery of unpaid premiums: reminders, retries, litigation, suspension, end): the premiums
  after the first month
- `staff`: what the broker's staff search and read of the subscriptions, and the personal link they send
- `tracking`: the funnel's events, from the invitation to the certificate
- `seed`: a SAMPLE tariff grid and zone table for the demo
- `money`, `dates`, `countries`, `errors`: what the others share
"""
