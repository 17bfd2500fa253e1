"""The accounts app's writes and rules, by domain: plain functions, no HTTP (HackSoft's
services). users: accounts and passwords; links: mailed links; sessions: refresh tokens and
the sessions they make; events: security events, the one place they are recorded."""
