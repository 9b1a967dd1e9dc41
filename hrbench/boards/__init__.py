"""Boards: leaderboards and reports, a pure function of the results store.

The work is split by question:

* :mod:`hrbench.store.results` -- reading the store (runs, videos, folds);
* :mod:`.boards` -- which runs form a board (one protocol hash, one
  dataset fingerprint), seeds collapsed into one row, not-run stages kept
  aside, board names that never collide and never leave the output folder;
* :mod:`.metrics` and :mod:`.stats` -- error metrics and their intervals;
* :mod:`.inference` -- subject-level paired tests, Holm correction,
  Friedman/Nemenyi, and the verdicts boards state;
* :mod:`.render`, :mod:`.render_sections`, :mod:`.board_text` and
  :mod:`.plots` -- markdown and figures; :mod:`.breakdowns` -- errors grouped
  by a recording property;
* :mod:`.board_files` -- the output folder: never replacing a file
  hrbench did not write, removing boards whose runs left the store;
* :mod:`.compare` -- ``hrbench compare``; :mod:`.frames` -- results as pandas
  tables (``hrbench export``); :mod:`.summary` -- the table ``hrbench run`` prints.
"""
