"""The lottrack terminal UI (Textual): screens, modals, role panes and styles.

The UI collects input, calls the services of :mod:`lottrack` in worker threads and shows
the result; it holds no rules. Build it with :func:`tui.app.make_app`.
"""
