"""Views: what people read. Listings for screens and the command line (lot lists,
histories, audit log pages) and the data of every document (certificates, labels),
issued with keyed ids and copy numbers; nothing here decides a rule.
"""
