"""Stage 4, load: one release at a time into raw.*, under the warehouse's writer lock."""
