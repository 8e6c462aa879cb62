"""``cupy._core`` for the stand-in (only what gpukeras reaches into)."""
