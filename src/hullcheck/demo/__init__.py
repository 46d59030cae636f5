"""The embedded demo org (`hullcheck demo`): repositories with history, images on disk, a config."""

from hullcheck.demo.org import create_demo_org

__all__ = ["create_demo_org"]
