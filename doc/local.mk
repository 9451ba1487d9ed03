# doc/: man pages.
