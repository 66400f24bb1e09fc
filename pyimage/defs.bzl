"""Public API: layers that turn a Python target into a plain venv and an app folder."""

load("//pyimage/private:layers.bzl", _py_app_layer = "py_app_layer", _py_venv_layer = "py_venv_layer")

py_app_layer = _py_app_layer
py_venv_layer = _py_venv_layer
