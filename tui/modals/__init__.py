"""Modals: each only collects input and dismisses with it (typed ``ModalScreen[T]``)."""
