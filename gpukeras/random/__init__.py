"""``gpukeras.random``: Keras's random ops, drawn on the backend's device stream."""
