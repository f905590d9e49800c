"""The dependencies layer: resolve pinned requirements for a Lambda runtime, install, slim, compile, check, zip."""
