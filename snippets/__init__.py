"""Runnable experiments behind every claim on the site.

Each module shows one idea, runs on its own (``python -m snippets.NAME``) and is
included into the pages through ``pymdownx.snippets``, so the code a reader sees is
the code the tests run.
"""
