"""Manufacturing: a lot from the harvest to its bags. Harvests, expansion passages, cell
counts, QC results judged against versioned specifications, reagent lots, formulation,
thaw and custody, the lot lifecycle and its guards, plausibility of numbers, and the
investigations and deviations recorded on a lot as it is made.
"""
