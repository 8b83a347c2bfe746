"""live-classify: real-time ImageNet classification of a camera, a stream, a video or photos."""

__version__ = "0.1.0"
