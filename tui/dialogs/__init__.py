"""Dialogs every role uses: each only collects input and dismisses with it (typed
``ModalScreen[T]``): confirm, reason, a moment, a weight, a signature, a type-ahead choice."""
