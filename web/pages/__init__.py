"""The portal's HTML pages (public listings, the parties', bidders', experts', supervisors'
and the center's pages, verification pages, live page streams): one module per area, the
templates in web/templates. It imports web.core, never web.api."""
