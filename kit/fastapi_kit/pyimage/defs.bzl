"""Public API: layers that turn a Python target into a plain venv and an app folder."""

load("//pyimage/private:build_info.bzl", _build_info = "build_info")
load("//pyimage/private:layers.bzl", _py_app_layer = "py_app_layer", _py_venv_layer = "py_venv_layer")

build_info = _build_info
py_app_layer = _py_app_layer
py_venv_layer = _py_venv_layer
