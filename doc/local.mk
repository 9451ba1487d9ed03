# doc/: man pages.
dist_man_MANS += doc/cofferd.8 doc/coffer.1 doc/coffer.json.5 doc/coffer-bench.1
