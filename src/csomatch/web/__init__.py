"""The web pages: static HTML, CSS and small JavaScript modules that call the JSON API."""
