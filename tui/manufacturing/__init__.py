"""The lab's work: the lot list, a lot's detail screen (what may be recorded next), the
forms of every record a technician makes or corrects, and reagent lots.
"""
