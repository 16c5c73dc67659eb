"""Exceptions raised by ``gputensor.onnx.export`` (torch.onnx.errors' names and messages)."""
from __future__ import annotations

__all__ = ["OnnxExporterError", "UnsupportedOperatorError"]


class OnnxExporterError(RuntimeError):
    """Errors raised by the ONNX exporter: the base of every exporter error."""


class UnsupportedOperatorError(OnnxExporterError):
    """Raised when an operator the model ran has no ONNX conversion."""

    def __init__(self, name: str, version: int, supported_version: int | None) -> None:
        if supported_version is not None:
            msg = (f"Exporting the operator '{name}' to ONNX opset version {version} is not "
                   f"supported. Support for this operator was added in version "
                   f"{supported_version}, try exporting with this version")
        else:
            msg = f"Exporting the operator '{name}' to ONNX opset version {version} is not supported"
        super().__init__(msg)
        self.name = name
