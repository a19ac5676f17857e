"""`easyimg serve` and `--offline`: a local OpenAI-format image API drawing placeholder art."""
