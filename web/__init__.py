"""The Litestar application: portal pages, JSON API, live views. Only web/ knows HTTP."""
