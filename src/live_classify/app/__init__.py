"""The application: the run assembled from its configuration, run on one loop, and reloaded."""
