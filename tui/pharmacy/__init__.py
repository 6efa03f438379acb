"""The unblinded pharmacy: the allocation list, a visit's dose check and dispensing, the
second verification, documents and labels. Only here are arms shown.
"""
