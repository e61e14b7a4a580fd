"""ZVT: the codec, the serial framing, and the ECR and PT sessions (device code)."""
