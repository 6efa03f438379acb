"""The blinded ward and the investigators: the bedside check, the infusion and its end,
emergency unblinding of one subject.
"""
