"""Recording: MP4 (H.264) or Motion-JPEG files, and segments with retention."""
