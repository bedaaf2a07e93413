"""Emails: rendering (Jinja2, French), the calendar invitation, sending over SMTP."""
