"""What the API (web.api) and the pages (web.pages) share: logins and guards, the error
answers, form reading, edge checks on requests, path and query parameters, security headers,
request dependencies, the app's lifetime state, admission gates and the live-event streams.
It imports neither side."""
