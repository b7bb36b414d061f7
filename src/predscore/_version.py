"""The installed package's version (from its metadata), for the root package and the
service; a source tree never installed reads ``0+unknown``."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("predscore")
except PackageNotFoundError:
    __version__ = "0+unknown"
