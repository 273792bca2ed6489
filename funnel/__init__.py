"""The volunteer top-up cover, Flask-free (DESIGN.md §3): products and tariffs as versioned data, the rules of
the programme as plain functions, the volunteers and the roster feed that keeps them, and the funnel's events.

- `catalogue`: the covers, person categories, formulas, guarantees and programmes, with their labels
- `grid`: a tariff version's content (formulas, guarantee tables, premiums, waiting periods, limits), validated
- `tariffs`: tariff and zone-table versions, effective-dated: add one, read the one in force on a date
- `rules` and `eligibility`: commitment, cover dates, waiting periods, age limit, dependants
- `quotes`: the price of a choice of covers for a volunteer and their family
- `roster` and `roster_input`: the programme operator's roster events, applied idempotently and in order
- `tracking`: the funnel's events, from the invitation to the certificate
- `seed`: a sample tariff grid and zone table for the demo
"""
