"""Where frames come from: cameras, streams, files (OpenCV capture) and photos."""
