"""--serve: the web page, the MJPEG stream, the status API and /metrics."""
