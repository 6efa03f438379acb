"""Forms for the technician's records and QA's decisions (one form per file).

Each form is a :class:`~tui.common.form.FormScreen`: it loads what it offers
(subjects, reagent lots, the lot's passages…) in a worker, checks quantities and times
as they are typed, and on save runs one service call in a worker and a write session.
A refusal of the service appears under the form and on the field it names; nothing is
stored. On success the form closes and hands a one-line summary to whoever opened it.
"""
