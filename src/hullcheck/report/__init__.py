"""The weekly report: trend data, charts, the static site, mails."""
