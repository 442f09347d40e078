"""One module per part of the site, each registering its pages (with their JSON twins) on a router."""
