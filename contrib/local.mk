# contrib/: benchmark tools and scripts.
