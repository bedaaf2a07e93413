"""The chaos suite: a whole campaign driven through real processes (a Temporal dev server on a file,
two workers, an SMTP relay, the store behind a proxy) while they are killed, stopped and cut off,
then checked figure by figure. `python -m chaos` (`make chaos`) runs it; docs/reliability.md says why.
"""
