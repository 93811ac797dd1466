"""Machine-learning settings: where models live; Hugging Face stays offline."""

from __future__ import annotations

from ml.offline import enable_offline_mode

# Set once for every process that loads settings (web, worker, commands, tests).
enable_offline_mode()
