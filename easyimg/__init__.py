"""easyimg: a command-line image generator for OpenAI-format image APIs."""

__version__ = "0.1.0"
