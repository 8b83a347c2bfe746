"""The window: one camera, a grid of several, or one window each; the overlay drawn on frames."""
