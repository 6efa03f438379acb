"""The blinded ward and the investigators: finding a patient, the bedside check, the
infusion and its end, emergency unblinding of one subject.
"""
