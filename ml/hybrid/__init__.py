"""The hybrid orchestrator: context-weighted blending, confidence, explanations, online weights."""
